"""Comparing words: normalisation, link keys, paragraph alignment and word diffs, and telling the partner's
site around a copy from words added to it.

Two texts count as the same when they differ only in what a partner's CMS changes on its own: Unicode
forms, curly or straight quotes, kinds of dash, spaces (also non-breaking and zero-width) and letter case.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from urllib.parse import urlsplit

from tracking.api import normalize as normalize_url

_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
})


def norm(text):
    """`text` as compared: NFKC, quotes and dashes unified, invisible characters dropped, spaces collapsed,
    case folded."""
    if text.isascii():  # most text: nothing to unify but the backtick
        return " ".join(text.replace("`", "'").lower().split())
    return " ".join(unicodedata.normalize("NFKC", text).translate(_TRANSLATE).casefold().split())


def link_key(url):
    """A link as compared: scheme, fragment, tracking parameters, default port and trailing slash ignored."""
    if not url:
        return ""
    if url.lower().startswith("mailto:"):
        return url.lower().strip()
    normalized = normalize_url(url)
    if not normalized:
        return ""
    key = normalized.split("://", 1)[1]
    return key.rstrip("/") if "?" not in key else key


def shorten(text, limit=240):
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def diff_segments(original, copy):
    """The copy's words against the original's as [(kind, words)], kind "equal", "removed" or "added"."""
    a, b = original.split(), copy.split()
    matcher = SequenceMatcher(None, [norm(w) for w in a], [norm(w) for w in b], autojunk=False)
    segments = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            segments.append(("equal", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(("removed", " ".join(a[i1:i2])))
        if j2 > j1:
            segments.append(("added", " ".join(b[j1:j2])))
    return segments


def word_diff(original, copy):
    """(marked text, changes, matched word count): the copy's words against the original's, in the
    `[-removed-] {+added+}` notation."""
    marked, changes, matched = [], [], 0
    segments = diff_segments(original, copy)
    for index, (kind, words) in enumerate(segments):
        if kind == "equal":
            marked.append(words)
            matched += len(words.split())
        elif kind == "removed":
            marked.append(f"[-{words}-]")
            following = segments[index + 1] if index + 1 < len(segments) else None
            changes.append({"removed": words, "added": following[1] if following and following[0] == "added" else ""})
        else:
            marked.append(f"{{+{words}+}}")
            previous = segments[index - 1] if index else None
            if not (previous and previous[0] == "removed"):
                changes.append({"removed": "", "added": words})
    return " ".join(marked), changes, matched


def _likeness(a_words, b_words, a_set, b_set):
    if not a_set or not b_set:
        return 0.0
    jaccard = len(a_set & b_set) / len(a_set | b_set)
    if jaccard < 0.25:
        return jaccard
    return SequenceMatcher(None, a_words, b_words, autojunk=False).ratio()


PAIR_THRESHOLD = 0.5


def _pair_up(orig_words, copy_words, rows, cols):
    """The best order-keeping pairing of original paragraphs `rows` with copy paragraphs `cols` that look
    alike (likeness at least PAIR_THRESHOLD): a small dynamic programme over the replaced stretch."""
    rows, cols = list(rows), list(cols)
    if len(rows) * len(cols) > 6400:  # a page that is mostly something else: pair nothing
        return []
    sets_a = {i: set(orig_words[i]) for i in rows}
    sets_b = {j: set(copy_words[j]) for j in cols}
    score = {}
    for i in rows:
        for j in cols:
            likeness = _likeness(orig_words[i], copy_words[j], sets_a[i], sets_b[j])
            if likeness >= PAIR_THRESHOLD:
                score[i, j] = likeness
    if not score:
        return []
    n, m = len(rows), len(cols)
    best = [[0.0] * (m + 1) for _ in range(n + 1)]
    for x in range(n - 1, -1, -1):
        for y in range(m - 1, -1, -1):
            options = [best[x + 1][y], best[x][y + 1]]
            if (rows[x], cols[y]) in score:
                options.append(score[rows[x], cols[y]] + best[x + 1][y + 1])
            best[x][y] = max(options)
    pairs, x, y = [], 0, 0
    while x < n and y < m:
        key = (rows[x], cols[y])
        if key in score and best[x][y] == score[key] + best[x + 1][y + 1]:
            pairs.append(key)
            x, y = x + 1, y + 1
        elif best[x][y] == best[x + 1][y]:
            x += 1
        else:
            y += 1
    return pairs


@dataclass
class Alignment:
    equal: list = field(default_factory=list)  # (original index, copy index)
    changed: list = field(default_factory=list)  # (original index, copy index)
    missing: list = field(default_factory=list)  # original indexes
    added: list = field(default_factory=list)  # copy indexes
    moved: list = field(default_factory=list)  # (original index, copy index): same words, another place


def align(orig_keys, orig_words, copy_keys, copy_words):
    """Paragraph-level alignment of the copy with the original (difflib over normalised paragraphs, then
    the replaced stretches paired by likeness)."""
    result = Alignment()
    matcher = SequenceMatcher(None, orig_keys, copy_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result.equal.extend(zip(range(i1, i2), range(j1, j2), strict=True))
            continue
        pairs = _pair_up(orig_words, copy_words, range(i1, i2), range(j1, j2)) if tag == "replace" else []
        result.changed.extend(pairs)
        paired_rows, paired_cols = {i for i, _ in pairs}, {j for _, j in pairs}
        result.missing.extend(i for i in range(i1, i2) if i not in paired_rows)
        result.added.extend(j for j in range(j1, j2) if j not in paired_cols)
    # A paragraph that disappeared in one place and appears word for word in another was moved.
    added_by_key = {}
    for j in result.added:
        added_by_key.setdefault(copy_keys[j], []).append(j)
    still_missing = []
    for i in result.missing:
        places = added_by_key.get(orig_keys[i])
        if places:
            result.moved.append((i, places.pop(0)))
        else:
            still_missing.append(i)
    moved_cols = {j for _, j in result.moved}
    result.missing = still_missing
    result.added = [j for j in result.added if j not in moved_cols]
    return result


ADDITIONAL_REPORTING = re.compile(r"\badditional (reporting|research|writing)\b|\bcontributed to this (report|story)\b")


_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
DATE_LIKE = re.compile(
    rf"\b({_MONTHS}\s+\d{{1,2}}|\d{{1,2}}\s+{_MONTHS}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}})\b"
)


def is_header_furniture(key, authors, outlet):
    """A partner's own rendering of our byline or date above the story ("By Ana Ruiz | The Ledger",
    "Published May 5, 2026 at 3:00 pm"): short, and naming the authors or our outlet, or giving a date."""
    words = key.split()
    if len(words) <= 30 and any(norm(name) in key for name in [*authors, outlet] if name):
        return True
    return len(words) <= 12 and bool(DATE_LIKE.search(key))


# The partner's site around our story: its header and menus, share buttons, "Related stories", sidebar and
# footer. Told apart by the elements themes build them with, their ARIA roles, and the words of their classes
# and ids (WordPress and its plugins, and most other CMSs, name them so).
FURNITURE_TAGS = frozenset({"header", "footer", "aside", "nav", "form", "menu"})
FURNITURE_ROLES = frozenset({"banner", "navigation", "complementary", "contentinfo", "search", "menu", "menubar"})
FURNITURE_WORDS = frozenset({
    "ad", "ads", "advert", "advertisement", "author", "banner", "branding", "breadcrumb", "breadcrumbs", "comment",
    "comments", "colophon", "footer", "header", "masthead", "menu", "nav", "navigation", "newsletter", "promo",
    "recommended", "related", "relatedposts", "respond", "share", "sharedaddy", "sharing", "sidebar", "social",
    "subscribe", "tags", "widget", "widgets", "yarpp",
})
HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6"})
_NAME_WORDS = re.compile(r"[a-z0-9]+")


def is_furniture_element(element):
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in ("header", "footer") and any(a.tag in ("blockquote", "figure") for a in element.iterancestors()):
        return False  # a quote's or a picture's own credit line, part of the story
    if tag in FURNITURE_TAGS or (element.get("role") or "").strip().lower() in FURNITURE_ROLES:
        return True
    names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
    return any(word in FURNITURE_WORDS for word in _NAME_WORDS.findall(names))


def site_furniture(blocks, keys, matched, container, ours):
    """The indexes of the blocks that are the partner's site around our story rather than words added to it:
    blocks inside a piece of furniture (`is_furniture_element`) that holds none of our paragraphs, the
    partner's headings above the story, and, once a heading of theirs follows our last paragraph, everything
    after it ("Related stories" and its list, "About the Gazette"). `matched`: the indexes of our paragraphs
    (in order); `ours`: the keys of every block of ours (paragraphs, byline, credit lines)."""
    story = set()
    for index in matched:
        story.add(blocks[index].element)
        story.update(blocks[index].element.iterancestors())
    first, last = matched[0], matched[-1]
    furniture, story_over = set(), False
    for index, (block, key) in enumerate(zip(blocks, keys, strict=True)):
        if key in ours:
            continue
        heading = block.tag in HEADING_TAGS
        story_over = story_over or (heading and index > last)
        if story_over or (heading and index < first) or _in_furniture(block.element, container, story):
            furniture.add(index)
    return furniture


def _in_furniture(element, container, story):
    node = element
    while node is not None and node is not container:
        if node not in story and is_furniture_element(node):
            return True
        node = node.getparent()
    return False


def host_of(url):
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
