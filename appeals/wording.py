"""The support texts on a story others may not republish (a wire story, a partner's copy, one switched off).

Editors write the appeal and the free-to-read line once, for the outlet's own stories, and they often say
"free to read and free to republish". Printed under a story whose republish box says it is not available,
that claim would contradict the page, so such a page shows the texts without it:

- "free to read and free to republish" (or "…, free to republish", "… and republish") keeps "free to read";
- any other sentence that still speaks of republishing is left out;
- a text left with nothing to say is left out whole (the caller decides what stands in its place).
"""

import re

import lxml.html
from lxml import etree

from byline.sanitize import clean_html

# "free to read and free to republish", "free to read, free to republish", "free to read & republish"
_READ_AND_REPUBLISH = re.compile(
    r"(\bfree\s+to\s+read)\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&(?:amp;)?\s*)(?:(?:also\s+)?free\s+to\s+)?republish\b",
    re.IGNORECASE,
)
# What is left of the claim once "free to read" has gone: ", free to republish", "and free to republish".
_REPUBLISH_CLAUSE = re.compile(r"\s*(?:,\s*|\s+and\s+)(?:also\s+)?free\s+to\s+republish\b", re.IGNORECASE)
_MENTIONS_REPUBLISHING = re.compile(r"republish", re.IGNORECASE)
# A sentence ends at . ! ? (a closing quote may follow) before a space; abbreviations are rare in these texts.
_SENTENCE_END = re.compile(r"(?<=[.!?])(?:[\"'”’)]|</(?:a|b|em|i|strong)>)*\s+")
_BLOCKS = ("p", "li", "blockquote", "h2", "h3", "h4")


def without_republishing(text):
    """`text` (plain) with what it says about republishing taken out; "" when nothing else is left."""
    text = _REPUBLISH_CLAUSE.sub("", _READ_AND_REPUBLISH.sub(r"\1", text or ""))
    if not _MENTIONS_REPUBLISHING.search(text):
        return text.strip()
    sentences = [part for part in _split_sentences(text) if not _MENTIONS_REPUBLISHING.search(part)]
    return " ".join(sentences).strip()


def without_republishing_html(html):
    """Rich text (an appeal's message) with what it says about republishing taken out, sentence by sentence
    within each paragraph; a paragraph left empty goes too."""
    html = str(html or "")
    if not _MENTIONS_REPUBLISHING.search(html):
        return html
    root = lxml.html.fragment_fromstring(clean_html(html), create_parent="div")
    leaves = [block for block in root.iter(*_BLOCKS) if next(block.iterdescendants(*_BLOCKS), None) is None]
    for block in leaves if leaves else [root]:
        if not _MENTIONS_REPUBLISHING.search(block.text_content()):
            continue
        kept = _without_republishing_markup(_inner_html(block))
        tail = block.tail
        for child in list(block):
            block.remove(child)
        block.text = None
        if kept:
            holder = lxml.html.fragment_fromstring(kept, create_parent="div")
            block.text = holder.text
            block.extend(list(holder))
        if block is not root and not block.text_content().strip():
            parent = block.getparent()
            block.drop_tree()
            if parent is not root and parent.tag in ("ul", "ol") and not parent.text_content().strip():
                parent.drop_tree()  # a list whose every item spoke of republishing
        else:
            block.tail = tail
    return clean_html(_inner_html(root))


def _inner_html(element):
    return _escape(element.text or "") + "".join(
        etree.tostring(child, encoding="unicode", method="html") for child in element
    )


def _without_republishing_markup(markup):
    """One block's inner HTML, the claim taken out of its text and its sentences that speak of republishing
    dropped; inline tags a cut leaves unbalanced are mended when it is parsed again."""
    markup = _REPUBLISH_CLAUSE.sub("", _READ_AND_REPUBLISH.sub(r"\1", markup))
    sentences = [part for part in _split_sentences(markup)
                 if not _MENTIONS_REPUBLISHING.search(re.sub(r"<[^>]*>", "", part))]
    return " ".join(sentences).strip()


def _split_sentences(text):
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        parts.append(text[start:match.end()].strip())
        start = match.end()
    parts.append(text[start:].strip())
    return [part for part in parts if part]


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
