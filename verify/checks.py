"""The checks run on a partner's copy, each giving a result (passed, failed, or not required) and evidence.

    permission  the story may be republished (eligibility when the copy was first seen)
    pixel       our pixel is there, for this story, validly signed, pointing at us, and not hidden; what the
                copy costs (only the site's address arriving, a stripped style) said when it still counts
    credit      a credit line, a link to the original and the authors' names are there
    links       every link of the story's body is still there (the missing ones listed)
    canonical   <link rel="canonical"> to the original in the head (or a Link header), if the policy asks
    noindex     a noindex robots meta tag in the head or an X-Robots-Tag header, if the policy asks
    images      no picture of the original was copied (unless its rights allow)
    headline    the headline is unchanged
    text        the body is unaltered: similarity, paragraphs missing, added, changed (word diff) or moved,
                truncation, an added "Additional reporting by" note

`run_checks(original, page)` runs them all; it does no I/O, so it can be timed and tested on its own.
"""

import posixpath
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lxml import etree

from republish import pixel

from .text import (
    ADDITIONAL_REPORTING,
    align,
    is_header_furniture,
    link_key,
    norm,
    shorten,
    site_furniture,
    word_diff,
)

CHECKS = ("permission", "pixel", "credit", "links", "canonical", "noindex", "images", "headline", "text")
LABELS = {
    "permission": "May be republished", "pixel": "Tracking pixel", "credit": "Credit and link to the original",
    "links": "Links of the original", "canonical": "Canonical link in the head", "noindex": "Noindex",
    "images": "No images of ours", "headline": "Headline unchanged", "text": "Text unaltered",
}
PIXEL_PATH = re.compile(r"/pixel/\d{1,18}/[a-z]{1,8}/[0-9a-f]{16}\.gif")
_ZERO = re.compile(r"^-?0*\.?0+(px|em|rem|%|vw|vh|pt|cm|mm|in)?$")
_OFFSCREEN = re.compile(r"^-\d{3,}(\.\d+)?(px|em|rem)$")
_LINK_HEADER = re.compile(r"<([^>]*)>\s*((?:;[^,;]*)*)")
# Evidence lists longer than this are cut (a hostile page must not fill the database); the full counts are
# kept in evidence["not_listed"].
MAX_LISTED = 100
# Blocks of fewer words than this that match nothing in the story are a partner's furniture ("Share this",
# "Advertisement"), not an edit: listed as ignored, not judged.
MIN_JUDGED_WORDS = 3


@dataclass
class CheckResult:
    ok: object  # True, False, or None when the policy does not ask for it
    summary: str
    evidence: dict

    def as_json(self):
        return {"ok": self.ok, "summary": self.summary, "evidence": self.evidence}


@dataclass
class Report:
    checks: dict  # name -> CheckResult, in CHECKS order
    similarity: float

    @property
    def failing(self):
        return [name for name, result in self.checks.items() if result.ok is False]

    @property
    def compliant(self):
        return not self.failing

    def as_json(self):
        return {name: result.as_json() for name, result in self.checks.items()}


def _cap_lists(evidence, names, limit=MAX_LISTED):
    for name in names:
        if len(evidence.get(name) or []) > limit:
            evidence.setdefault("not_listed", {})[name] = len(evidence[name]) - limit
            evidence[name] = evidence[name][:limit]


def run_checks(original, page, permission=None):
    checks = {
        "permission": check_permission(permission),
        "pixel": check_pixel(original, page),
        "credit": check_credit(original, page),
        "links": check_links(original, page),
        "canonical": check_canonical(original, page),
        "noindex": check_noindex(original, page),
        "images": check_images(original, page),
        "headline": check_headline(original, page),
        "text": check_text(original, page),
    }
    return Report(checks=checks, similarity=checks["text"].evidence["similarity"])


# permission -------------------------------------------------------------------------------------------------

def check_permission(eligibility):
    if eligibility is None:
        return CheckResult(None, "Not evaluated", {})
    evidence = {"rule": eligibility.rule, "reason": eligibility.reason}
    if eligibility.eligible:
        return CheckResult(True, "The story may be republished", evidence)
    return CheckResult(False, f"The story may not be republished: {eligibility.reason}", evidence)


# pixel ------------------------------------------------------------------------------------------------------

def style_declarations(style):
    """{property: value} of an inline style, honouring !important the way the cascade does."""
    declarations = {}
    for declaration in (style or "").split(";"):
        name, _, value = declaration.partition(":")
        name, value = name.strip().lower(), " ".join(value.split()).lower()
        if not name or not value:
            continue
        important = value.endswith("!important")
        value = value.removesuffix("!important").strip()
        if name in declarations and declarations[name][1] and not important:
            continue
        declarations[name] = (value, important)
    return {name: value for name, (value, _) in declarations.items()}


def _describe(element):
    label = element.tag
    if element.get("id"):
        label += "#" + element.get("id")
    if element.get("class"):
        label += "." + ".".join(element.get("class").split())
    return f"<{label}>"


def hidden_reasons(element):
    """Why readers' browsers would not show (or not load) this image: on itself or an ancestor."""
    reasons = []
    own = style_declarations(element.get("style"))
    if element.get("hidden") is not None:
        reasons.append("hidden attribute")
    for attribute in ("width", "height"):
        if _ZERO.match((element.get(attribute) or "").strip()):
            reasons.append(f'{attribute}="{element.get(attribute)}"')
    reasons += _style_reasons(own, "")
    for name in ("left", "top", "margin-left", "text-indent"):
        if own.get("position") in ("absolute", "fixed") and _OFFSCREEN.match(own.get(name, "")):
            reasons.append(f"moved off screen ({name}:{own[name]})")
    for ancestor in element.iterancestors():
        tag = ancestor.tag if isinstance(ancestor.tag, str) else ""
        where = f" on {_describe(ancestor)}"
        if tag == "noscript":
            reasons.append("inside <noscript> (counted only for readers without JavaScript)")
        elif tag == "template":
            reasons.append("inside <template> (never shown: not counted)")
        if ancestor.get("hidden") is not None:
            reasons.append("hidden attribute" + where)
        style = style_declarations(ancestor.get("style"))
        if style.get("display") == "none":
            reasons.append("display:none" + where)
        if style.get("visibility") in ("hidden", "collapse") and own.get("visibility") != "visible":
            reasons.append(f"visibility:{style['visibility']}" + where)
        if style.get("opacity") and _ZERO.match(style["opacity"]):
            reasons.append("opacity:0" + where)
        if style.get("overflow") in ("hidden", "clip") and any(
            _ZERO.match(style.get(name, "x")) for name in ("width", "height", "max-width", "max-height")
        ):
            reasons.append("zero size with overflow hidden" + where)
    return reasons


def _style_reasons(style, where):
    reasons = []
    if style.get("display") == "none":
        reasons.append("display:none" + where)
    if style.get("visibility") in ("hidden", "collapse"):
        reasons.append(f"visibility:{style['visibility']}" + where)
    if style.get("opacity") and _ZERO.match(style["opacity"]):
        reasons.append("opacity:0" + where)
    for name in ("width", "height", "max-width", "max-height"):
        if name in style and _ZERO.match(style[name]):
            reasons.append(f"{name}:{style[name]}" + where)
    return reasons


# What a request for an image on another site carries as Referer, by referrer policy: the page's full address,
# only its origin, or nothing (our pixel is never on the partner's origin). The pixel's address is https, and
# current browsers upgrade an http image on an https page, so the "downgrade" some policies speak of never
# arises for it.
REFERRER_SENDS = {
    "unsafe-url": "address", "no-referrer-when-downgrade": "address",
    "origin": "origin", "origin-when-cross-origin": "origin", "strict-origin": "origin",
    "strict-origin-when-cross-origin": "origin",
    "no-referrer": "nothing", "same-origin": "nothing",
}
DEFAULT_REFERRER_POLICY = "strict-origin-when-cross-origin"  # browsers', when neither image nor page names one
# Older names that <meta name="referrer"> (and only it) still accepts.
_LEGACY_REFERRER = {"never": "no-referrer", "default": DEFAULT_REFERRER_POLICY, "always": "unsafe-url",
                    "origin-when-crossorigin": "origin-when-cross-origin"}
# What keeps a pixel a speck whatever the theme's image rules say: every handout's style sets them (and
# WordPress's kses keeps them), so a copy without them lost them to a paste, a sanitizer or an editor.
_PIXEL_FRAME = ("border", "margin", "padding")
_PX = re.compile(r"^(\d*\.?\d+)(px)?$")
_NO_SIZE = frozenset({"auto", "none", "initial", "inherit", "unset", "revert", "revert-layer"})
STYLE_REMOVED = ("its style was removed: the theme's image rules size and frame it, so it may take space or show "
                 "as an empty box")


def _at_most_one_pixel(value):
    match = _PX.match(value or "")
    return bool(match) and float(match.group(1)) <= 1


def _larger_than_one_pixel(value):
    return bool(value) and value not in _NO_SIZE and not _at_most_one_pixel(value) and not _ZERO.match(value)


def _frameless(name, value):
    tokens = value.split()
    if name == "box-shadow":
        return value == "none"
    if name == "padding":
        return all(_ZERO.match(token) for token in tokens)
    return any(token in ("none", "hidden") or _ZERO.match(token) for token in tokens)


def meta_referrer_policies(page, elements):
    """{element: the policy the page's <meta name="referrer"> has set by the time the element is read, or
    None}. Each such tag replaces the policy before it; one after the element comes too late for its
    request. One walk of the page for all `elements`."""
    wanted, found, current = set(elements), {}, None
    for node in page.root.iter():
        if node in wanted:
            found[node] = current
        elif node.tag == "meta" and (node.get("name") or "").strip().lower() == "referrer":
            value = (node.get("content") or "").strip().lower()
            value = _LEGACY_REFERRER.get(value, value)
            if value in REFERRER_SENDS:
                current = value
    return found


def referrer_cost(element, page, meta_policy=None):
    """What the pixel's request leaves us of the copy's address, as a cost; None when the full address
    arrives. The image's own referrerpolicy wins; without a valid one, the page's <meta name="referrer">
    (`meta_policy`), else its Referrer-Policy header (the last policy named), else the browsers' default.
    Readers are counted either way: with only the site's address, under the partner's site; with none, under
    an unknown page."""
    own = (element.get("referrerpolicy") or "").strip().lower()
    header = [token.strip().lower() for token in page.headers.get("referrer-policy", "").split(",")]
    header = [token for token in header if token in REFERRER_SENDS]
    if own in REFERRER_SENDS:
        policy, reason = own, f"its referrer policy is {own}"
    else:
        lost = (f"its referrer policy ({shorten(own, 40)}) means nothing to browsers" if own
                else "the referrer policy was removed")
        if meta_policy:
            policy, reason = meta_policy, f'{lost} and the page\'s <meta name="referrer"> sets {meta_policy}'
        elif header:
            policy, reason = header[-1], f"{lost} and the page's Referrer-Policy header sets {header[-1]}"
        else:
            policy, reason = DEFAULT_REFERRER_POLICY, lost
    sends = REFERRER_SENDS[policy]
    if sends == "address":
        return None
    if sends == "origin":
        return f"counted by site only: {reason}"
    return f"counted as an unknown page: {reason}, which sends no address"


def appearance_costs(element):
    """What a changed or stripped style costs the partner's page (never the count): a pixel sized larger
    than 1x1, framed, or left to the theme's image rules."""
    own = style_declarations(element.get("style"))
    larger, loose, framed = [], [], []
    for side in ("width", "height"):
        minimum, size = own.get(f"min-{side}", ""), own.get(side, "")
        if _larger_than_one_pixel(minimum):
            larger.append(f"min-{side}:{shorten(minimum, 60)}")  # a minimum beats any maximum
        elif _at_most_one_pixel(own.get(f"max-{side}")) or _at_most_one_pixel(size) or _ZERO.match(size):
            continue
        elif _larger_than_one_pixel(size):
            larger.append(f"{side}:{shorten(size, 60)}")
        elif _larger_than_one_pixel((element.get(side) or "").strip()):
            larger.append(f'{side}="{shorten(element.get(side).strip(), 60)}"')
        else:
            loose.append(side)  # a width or height attribute of 1 gives way to any theme rule on images
    loose += [name for name in _PIXEL_FRAME if not any(key == name or key.startswith(name + "-") for key in own)]
    for name in ("border", "outline", "box-shadow", "padding"):
        if own.get(name) and not _frameless(name, own[name]):
            framed.append(f"{name}:{shorten(own[name], 60)}")
    costs = []
    if larger:
        costs.append(f"it is sized larger than 1x1 ({', '.join(larger)}): an empty box that takes space")
    if not own:
        costs.append(STYLE_REMOVED)
    elif loose:
        costs.append(f"its style no longer sets its {', '.join(loose)}: the theme's image rules do, so it may "
                     "take space or show as an empty box")
    if framed:
        costs.append(f"its style gives it a visible frame ({', '.join(framed)}): a small box readers can see")
    return costs


def check_pixel(original, page):
    pixels = []
    candidates = [element for url, _, element in page.images
                  if element is not None and "/pixel/" in urlsplit(url).path]
    meta_policies = meta_referrer_policies(page, candidates)
    for url, where, element in page.images:
        parts = urlsplit(url)
        if "/pixel/" not in parts.path:
            continue
        entry = {"src": url, "where": where}
        parsed = pixel.parse_pixel_path(parts.path)
        if parsed is None:
            entry.update(problems=["not a pixel address Byline makes"], hidden=[])
            pixels.append(entry)
            continue
        story_id, via, signature = parsed
        problems = []
        if story_id != original.story_id:
            problems.append(f"counts story {story_id}, not this one ({original.story_id})")
        if not pixel.is_valid(story_id, signature):
            problems.append("its signature is not valid")
        if via == "site":
            problems.append("it is our own pages' pixel: this copy's readers would count as readers of our site")
        host = (parts.hostname or "").lower()
        if host not in original.our_hosts:
            problems.append(f"it points to {host or 'no host'}, not to us")
        if element is None or element.tag not in ("img", "amp-img"):
            problems.append(f"it is in {where}, not in an <img>")
        entry.update(story_id=story_id, via=via, problems=problems,
                     hidden=hidden_reasons(element) if element is not None else [])
        if not problems:
            cost = referrer_cost(element, page, meta_policies.get(element))
            entry["costs"] = ([cost] if cost else []) + appearance_costs(element)
        pixels.append(entry)
    comments = [
        shorten(" ".join(comment.text.split()), 160) for comment in page.root.iter(etree.Comment)
        if comment.text and PIXEL_PATH.search(comment.text)
    ]
    working = [entry for entry in pixels if not entry["problems"] and not entry["hidden"]]
    evidence = {"pixels": pixels, "commented_out": comments}
    _cap_lists(evidence, ("pixels", "commented_out"), limit=20)
    if working:
        # Readers are counted whatever these cost, so the check passes; the summary says what is lost.
        evidence["costs"] = min((entry["costs"] for entry in working), key=len)
        summary = "; ".join(["Pixel present, signed for this story and visible", *evidence["costs"]])
        return CheckResult(True, summary, evidence)
    if not pixels:
        summary = "Pixel commented out: not counted" if comments else "No pixel"
        return CheckResult(False, summary, evidence)
    first = pixels[0]
    if not first["problems"]:
        return CheckResult(False, "Pixel hidden: " + "; ".join(first["hidden"]), evidence)
    return CheckResult(False, "Pixel wrong: " + "; ".join(first["problems"]), evidence)


# credit and links -------------------------------------------------------------------------------------------

def check_credit(original, page):
    text = page.text_key
    found = [credit for credit, key in zip(original.credits, original.credit_keys, strict=True) if key and key in text]
    links_to_original = [href for href, _ in page.anchors if link_key(href) == original.canonical_key]
    missing_authors = [name for name in original.authors if norm(name) not in text]
    evidence = {
        "credit_lines_expected": original.credits, "credit_lines_found": found,
        "link_to_original": original.canonical_url, "links_to_original_found": len(links_to_original),
        "authors": original.authors, "authors_missing": missing_authors,
    }
    problems = []
    if not found:
        problems.append("no credit line")
    if not links_to_original:
        problems.append("no link to the original")
    if missing_authors:
        problems.append("author not named: " + ", ".join(missing_authors))
    if problems:
        return CheckResult(False, "Credit incomplete: " + "; ".join(problems), evidence)
    return CheckResult(True, f"Credited ({len(found)} of {len(original.credits)} credit lines), linking the original",
                       evidence)


def check_links(original, page):
    present = {link_key(href) for href, _ in page.anchors}
    missing = [url for url, key in zip(original.links, original.link_keys, strict=True) if key and key not in present]
    evidence = {"expected": len(original.links), "missing": missing}
    if missing:
        return CheckResult(False, f"{len(missing)} of {len(original.links)} links missing", evidence)
    return CheckResult(True, f"All {len(original.links)} links present", evidence)


# head tags --------------------------------------------------------------------------------------------------

def link_header_targets(value, rel):
    """The URLs a `Link:` header gives for `rel`."""
    targets = []
    for url, params in _LINK_HEADER.findall(value or ""):
        for param in params.split(";"):
            name, _, param_value = param.partition("=")
            if name.strip().lower() == "rel" and rel in param_value.strip().strip("\"'").lower().split():
                targets.append(url.strip())
    return targets


# WordPress's traces in a page it renders: its REST API link and the folders of its themes, plugins and core.
_WORDPRESS_PATH = re.compile(r"/wp-(?:content|includes)/")
# The three SEO plugins most WordPress newsrooms use; each keeps its per-post canonical and robots settings
# under an "Advanced" tab of its box in the post editor.
SEO_PLUGINS = "Yoast SEO, Rank Math or All in One SEO"


def looks_like_wordpress(page):
    """Whether WordPress rendered the page: partners there can change their head only through a plugin."""
    if any(content.strip().lower().startswith("wordpress") for _, content, _ in page.metas("generator")):
        return True
    if page.rel_links("https://api.w.org/"):
        return True
    return any(_WORDPRESS_PATH.search(element.get("href") or element.get("src") or "")
               for element in page.root.iter("link", "script"))


def _not_required(original, finding):
    """A check the policy (or the copy's site rule) does not ask for: said so, with what was found."""
    whom = "for this site" if original.site_rule else "by our policy"
    if finding:
        finding = finding if finding.startswith("WordPress") else finding[0].lower() + finding[1:]
        return f"Not required {whom} ({finding})"
    return f"Not required {whom}"


def canonical_advice(original, wordpress):
    """What the partner can do about a missing or wrong canonical link, in words an editor can pass on."""
    plugin = (f"put {original.canonical_url} in the Canonical URL field of {SEO_PLUGINS} "
              "(Advanced tab of the post's SEO box)")
    if original.canonical_in_body:
        other = "or paste our head snippet at the top of the story: a canonical in the body is accepted for this site"
    else:
        other = "or ask us to accept a canonical in the body"
    if wordpress:
        return f"On WordPress, {plugin}, {other}."
    return f"Paste our head snippet into the page's head. On WordPress, {plugin}, {other}."


def noindex_advice(wordpress):
    plugin = (f"set the post to noindex in the Advanced tab of {SEO_PLUGINS} (Yoast: “Allow search engines to "
              "show this content in search results?” No; Rank Math: Robots Meta, No Index; All in One SEO: "
              "Robots Setting, “Use Default Settings” off, No Index), or ask us not to require noindex for this site")
    if wordpress:
        return f"On WordPress, {plugin}."
    return f"Paste our head snippet into the page's head. On WordPress, {plugin}."


def check_canonical(original, page):
    head = [href for href, in_head in page.rel_links("canonical") if in_head]
    body = [href for href, in_head in page.rel_links("canonical") if not in_head]
    header = [page.absolute(url) for url in link_header_targets(page.headers.get("link"), "canonical")]
    declared = list(dict.fromkeys(head + header))
    keys = {link_key(url) for url in declared}
    wordpress = looks_like_wordpress(page)
    rule = "none" if not original.require_canonical else "body" if original.canonical_in_body else "head"
    evidence = {"expected": original.canonical_url, "head": head[:10], "http_header": header[:10], "body": body[:10],
                "required": original.require_canonical, "rule": rule, "site_rule": original.site_rule,
                "wordpress": wordpress}
    if not declared:
        summary = "No canonical link in the head" + (" (one in the body, which search engines ignore)" if body else "")
        ok = False
    elif len(keys) > 1:
        summary, ok = "Conflicting canonical links: " + ", ".join(declared), False
    elif keys == {original.canonical_key}:
        summary, ok = "Canonical link to the original in the head", True
    elif wordpress and keys == {link_key(page.url)}:
        # WordPress links every post to its own address unless an SEO plugin is told otherwise.
        summary, ok = "WordPress's own canonical points to the copy", False
    else:
        summary, ok = f"Canonical points to {declared[0]}, not to the original", False
    if not ok and original.canonical_in_body and original.canonical_key in {link_key(url) for url in body}:
        summary, ok = "Canonical link to the original in the body, accepted for this site", True
    if not original.require_canonical:
        return CheckResult(None, _not_required(original, "" if ok else summary), evidence)
    if not ok:
        evidence["advice"] = canonical_advice(original, wordpress)
        summary = f"{summary}. {evidence['advice']}"
    return CheckResult(ok, summary, evidence)


ROBOTS_NAMES = ("robots", "googlebot")
_VALUED_DIRECTIVES = {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}


def has_noindex(content):
    return any(token.strip().lower() in ("noindex", "none") for token in (content or "").split(","))


def header_noindex(value):
    """Whether an X-Robots-Tag header tells all crawlers (or Google's) not to index."""
    agent = None
    for part in (value or "").split(","):
        part = part.strip().lower()
        match = re.match(r"^([a-z0-9_.-]+)\s*:\s*(.*)$", part)
        if match and match.group(1) not in _VALUED_DIRECTIVES:
            agent, part = match.group(1), match.group(2).strip()
        if part in ("noindex", "none") and agent in (None, "*", "googlebot"):
            return True
    return False


def check_noindex(original, page):
    metas = page.metas(*ROBOTS_NAMES)
    head = [f"{name}: {content}" for name, content, in_head in metas if in_head and has_noindex(content)]
    body = [f"{name}: {content}" for name, content, in_head in metas if not in_head and has_noindex(content)]
    header = page.headers.get("x-robots-tag", "")
    evidence = {"head": head[:10], "http_header": header[:500], "body": body[:10], "required": original.require_noindex}
    evidence["site_rule"] = original.site_rule
    ok = bool(head) or header_noindex(header)
    if ok:
        summary = "Noindex " + ("in the head" if head else "in the X-Robots-Tag header")
    else:
        summary = "No noindex" + (" (a robots tag in the body, which search engines ignore)" if body else "")
    if not original.require_noindex:
        return CheckResult(None, _not_required(original, "" if ok else summary), evidence)
    if not ok:
        evidence["advice"] = noindex_advice(looks_like_wordpress(page))
        summary = f"{summary}. {evidence['advice']}"
    return CheckResult(ok, summary, evidence)


# images -----------------------------------------------------------------------------------------------------

def check_images(original, page):
    copied = []
    for url, where, _ in page.images:
        parts = urlsplit(url)
        if PIXEL_PATH.search(parts.path):
            continue
        name = posixpath.basename(unquote(parts.path)).lower()
        for image in original.images:
            stem = image.stem
            same = name in image.names or (
                len(stem) >= 5 and name.startswith(stem) and (len(name) == len(stem) or name[len(stem)] in ".-_")
            )
            if same:
                host = (parts.hostname or "").lower()
                how = "hotlinked from our site" if host in original.our_hosts else "uploaded to their site"
                copied.append({"src": url, "where": where, "image": image.title, "how": how})
                break
    titles = list(dict.fromkeys(entry["image"] for entry in copied))
    evidence = {"our_images": [image.title for image in original.images], "copied": copied}
    _cap_lists(evidence, ("copied",), limit=20)
    if copied:
        return CheckResult(False, f"{len(titles)} of our images copied: " + ", ".join(titles), evidence)
    return CheckResult(True, "No image of ours", evidence)


# headline ---------------------------------------------------------------------------------------------------

def _headline_key(text):
    return re.sub(r"[^\w\s]", "", norm(text)).strip()


def check_headline(original, page):
    expected = _headline_key(original.headline)
    h1s = [" ".join(h.text_content().split()) for h in page.body.iter("h1")] if page.body is not None else []
    titles = [content for _, content, _ in page.metas("og:title", "twitter:title")]
    title = page.root.find(".//title")
    page_title = " ".join(title.text_content().split()) if title is not None else ""
    evidence = {"expected": original.headline, "h1": [shorten(h, 200) for h in h1s[:10]],
                "og_title": [shorten(t, 200) for t in titles[:5]], "title": shorten(page_title, 200)}
    candidates = h1s + titles
    if any(_headline_key(text) == expected for text in candidates):
        return CheckResult(True, "Headline unchanged", evidence)
    title_key = _headline_key(page_title)
    if not candidates and expected and (title_key.startswith(expected) or title_key.endswith(expected)):
        return CheckResult(True, "Headline unchanged (in the page title)", evidence)
    shown = h1s[-1] if h1s else (titles[0] if titles else page_title)
    expected_words = set(expected.split())
    shared = [(len(set(_headline_key(text).split()) & expected_words), index) for index, text in enumerate(h1s)]
    if shared and max(shared)[0]:  # the h1 sharing most words with ours is the story's; others name the site
        shown = h1s[max(shared)[1]]
    evidence["found"] = shorten(shown, 200)
    return CheckResult(False, f"Headline changed: “{shorten(shown, 120)}”" if shown else "Headline not found",
                       evidence)


# text -------------------------------------------------------------------------------------------------------

def _story_container(blocks, matched):
    """The element that holds (nearly) all the blocks that match the original: the copy's article."""
    counts, depth = {}, {}
    for index in matched:
        chain = [blocks[index].element, *blocks[index].element.iterancestors()]
        for level, element in enumerate(reversed(chain)):
            counts[element] = counts.get(element, 0) + 1
            depth[element] = level
    needed = max(1, int(len(matched) * 0.8 + 0.999))
    candidates = [element for element, count in counts.items() if count >= needed]
    return max(candidates, key=depth.__getitem__)


def _fuzzy_matches(original, keys):
    """Blocks sharing most of their words with a paragraph of the original: for copies whose every
    paragraph was touched."""
    paragraph_sets = [set(words) for words in original.words if len(words) >= 5]
    matched = []
    for index, key in enumerate(keys):
        words = set(key.split())
        if len(words) < 5:
            continue
        if any(len(words & other) / len(words | other) >= 0.5 for other in paragraph_sets):
            matched.append(index)
    return matched


def _is_story_text(block):
    """The headline has its own check; captions belong to pictures (ours are checked as images, the
    partner's own may come with their own words)."""
    if block.tag in ("h1", "figure", "figcaption"):
        return False
    return not any(ancestor.tag == "figure" for ancestor in block.element.iterancestors())


def check_text(original, page):
    blocks = [block for block in page.blocks if _is_story_text(block)]
    keys = [norm(block.text) for block in blocks]
    total_words = sum(len(words) for words in original.words)
    paragraph_keys = set(original.keys)
    matched = [index for index, key in enumerate(keys) if key in paragraph_keys]
    if len(matched) < max(1, len(original.keys) // 3):
        matched = sorted(set(matched) | set(_fuzzy_matches(original, keys)))
    notes = [shorten(block.text) for block, key in zip(blocks, keys, strict=True)
             if key not in paragraph_keys and ADDITIONAL_REPORTING.search(key)]
    evidence = {
        "similarity": 0.0, "paragraphs": len(original.keys), "copy_paragraphs": 0, "missing": [], "added": [],
        "changed": [], "moved": [], "truncated": None, "additional_reporting": notes[0] if notes else None,
        "ignored": [], "after_credit": [], "furniture": [],
    }
    if not matched:
        evidence["missing"] = [{"index": i + 1, "text": shorten(t)} for i, t in enumerate(original.paragraphs)]
        return CheckResult(False, "The story's text is not on the page", evidence)

    container = _story_container(blocks, matched)
    inside = set(container.iter())
    first_match = matched[0]
    bottom_credit = original.credit_keys[-1] if original.credit_keys else None
    credit_at = max((i for i, key in enumerate(keys) if key == bottom_credit and blocks[i].element in inside),
                    default=None)
    furniture = site_furniture(blocks, keys, matched, container, paragraph_keys | original.known_keys)
    region_keys, region_words, region_texts = [], [], []
    for index, (block, key) in enumerate(zip(blocks, keys, strict=True)):
        if block.element not in inside or key in original.known_keys:
            continue
        if key not in paragraph_keys:
            if index < first_match and is_header_furniture(key, original.authors, original.outlet):
                continue  # the partner's own rendering of our byline and date, above the story
            if credit_at is not None and index > credit_at >= first_match:
                evidence["after_credit"].append(shorten(block.text))  # the partner's, after our story ends
                continue
            if len(key.split()) < MIN_JUDGED_WORDS and not ADDITIONAL_REPORTING.search(key):
                evidence["ignored"].append(block.text)
                continue
            if index in furniture and not ADDITIONAL_REPORTING.search(key):
                evidence["furniture"].append(shorten(block.text))  # their site's header, menus, related stories
                continue
        region_keys.append(key)
        region_words.append(key.split())
        region_texts.append(block.text)
    evidence["copy_paragraphs"] = len(region_keys)

    alignment = align(original.keys, original.words, region_keys, region_words)
    matched_words = sum(len(original.words[i]) for i, _ in alignment.equal + alignment.moved)
    for i, j in alignment.changed:
        marked, changes, same = word_diff(original.paragraphs[i], region_texts[j])
        matched_words += same
        evidence["changed"].append({"index": i + 1, "original": original.paragraphs[i],
                                    "copy": shorten(region_texts[j], 4000), "diff": shorten(marked, 8000),
                                    "changes": changes[:50]})
    copy_words = sum(len(words) for words in region_words)
    similarity = 2 * matched_words / (total_words + copy_words) if total_words + copy_words else 1.0
    evidence["similarity"] = round(similarity, 4)
    evidence["missing"] = [{"index": i + 1, "text": shorten(original.paragraphs[i])} for i in alignment.missing]
    evidence["moved"] = [{"index": i + 1, "text": shorten(original.paragraphs[i])} for i, _ in alignment.moved]
    pairs = sorted(alignment.equal + alignment.changed + alignment.moved, key=lambda pair: pair[1])
    for j in alignment.added:
        after = max((i + 1 for i, jj in pairs if jj < j), default=0)
        evidence["added"].append({"after": after, "text": shorten(region_texts[j])})
    evidence["changed"].sort(key=lambda entry: entry["index"])

    kept = {i for i, _ in pairs}
    last_kept = max(kept) if kept else -1
    cut_short = False
    if last_kept >= 0:
        copied = dict(alignment.changed).get(last_kept)
        if copied is not None:
            copy_key = region_keys[copied].rstrip(". …").rstrip()
            cut_short = len(copy_key) < len(original.keys[last_kept]) and original.keys[last_kept].startswith(copy_key)
    if kept and (last_kept < len(original.keys) - 1 or cut_short):
        evidence["truncated"] = {
            "kept": last_kept + (0 if cut_short else 1), "of": len(original.keys),
            "after": shorten(original.paragraphs[last_kept], 160), "cut_mid_paragraph": cut_short,
        }

    problems = []
    counts = {name: len(evidence[name]) for name in ("missing", "changed", "added", "moved")}
    _cap_lists(evidence, ("missing", "changed", "added", "moved", "ignored", "after_credit", "furniture"))
    if evidence["truncated"]:
        problems.append(f"truncated after paragraph {last_kept + 1} of {len(original.keys)}")
    for name in ("missing", "changed", "added", "moved"):
        if counts[name]:
            problems.append(f"{counts[name]} paragraph{'s' if counts[name] != 1 else ''} {name}")
    if evidence["additional_reporting"]:
        problems.append("an “additional reporting” note added")
    percent = f"similarity {similarity:.0%}"
    if problems:
        return CheckResult(False, "Text altered: " + "; ".join(problems) + f" ({percent})", evidence)
    return CheckResult(True, f"Text unaltered ({percent})", evidence)
