"""A fetched page as the checks read it: its head, its text blocks, links, images and pixels.

Parsed with lxml (libxml2), which, like browsers, closes `<head>` at the first element that does not belong
there: a `<link rel="canonical">` after such an element, or anywhere in the body, is found in the body, where
search engines ignore it.
"""

import codecs
import re
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urljoin

import lxml.html
from lxml import etree

BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hgroup", "hr", "html", "li", "main", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul",
})
# Never text a reader reads as the story: code, media, controls, the site's menus.
SKIP_TAGS = frozenset({
    "head", "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed", "canvas",
    "video", "audio", "select", "textarea", "button", "nav", "form", "title",
})
# What browsers strip from around a URL before reading it.
_URL_STRIP = "".join(chr(code) for code in range(0x21))
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
IMAGE_ATTRIBUTES = ("src", "data-src", "data-lazy-src", "data-original", "data-orig-file", "data-large-file")
SRCSET_ATTRIBUTES = ("srcset", "data-srcset", "data-lazy-srcset")
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""", re.IGNORECASE)


def decode(body, charset=None):
    """Text from the page's bytes: the header's charset, else a BOM or `<meta charset>`, else UTF-8."""
    for candidate in (charset, _sniff(body), "utf-8"):
        if not candidate:
            continue
        try:
            codecs.lookup(candidate)
        except LookupError:
            continue
        return body.decode(candidate, errors="replace")
    return body.decode("utf-8", errors="replace")


def _sniff(body):
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    match = _META_CHARSET.search(body[:4096])
    return match.group(1).decode("ascii") if match else None


def parse_html(html):
    html = _XML_DECLARATION.sub("", html, count=1)
    try:
        return lxml.html.document_fromstring(html or "<html></html>")
    except (etree.ParserError, ValueError):
        return lxml.html.document_fromstring("<html><body></body></html>")


@dataclass
class Block:
    """A run of text a reader sees as one block (a paragraph, a heading, a list item...)."""

    text: str
    element: object  # the block element it belongs to
    links: list = field(default_factory=list)  # raw hrefs of the links in it

    @property
    def tag(self):
        return self.element.tag


def extract_blocks(root):
    """The text blocks under `root`, in document order; no recursion, so no nesting depth can break it."""
    blocks, parts, links = [], [], []
    owners = [root]

    def flush():
        text = " ".join("".join(parts).split())
        if text:
            blocks.append(Block(text, owners[-1], list(links)))
        parts.clear()
        links.clear()

    stack = [(root, False)]
    while stack:
        element, leaving = stack.pop()
        tag = element.tag if isinstance(element.tag, str) else None
        if leaving:
            if tag in BLOCK_TAGS:
                flush()
                owners.pop()
            if element.tail and element is not root:
                parts.append(element.tail)
            continue
        if tag is None or tag in SKIP_TAGS:  # comments, processing instructions, skipped subtrees
            if element.tail and element is not root:
                parts.append(element.tail)
            continue
        if tag in BLOCK_TAGS:
            flush()
            owners.append(element)
        elif tag == "br":
            parts.append(" ")
        elif tag == "a":
            href = element.get("href")
            if href:
                links.append(href)
        if element.text:
            parts.append(element.text)
        stack.append((element, True))
        stack.extend((child, False) for child in reversed(element))
    flush()
    return blocks


def srcset_urls(value):
    return [candidate.split()[0] for candidate in value.split(",") if candidate.strip()]


class CopyPage:
    """A partner's page: `html` as text, the URL it was read from, the response headers."""

    def __init__(self, html, url, headers=None):
        self.html, self.url, self.headers = html, url, headers or {}
        self.root = parse_html(html)
        self.head = self.root.find("head")
        self.body = self.root.find("body")
        base = self.head.find("base") if self.head is not None else None
        self.base_url = urljoin(url, base.get("href", "").strip(_URL_STRIP)) if base is not None else url

    def absolute(self, href):
        try:
            return urljoin(self.base_url, (href or "").strip(_URL_STRIP))
        except ValueError:
            return ""

    def in_head(self, element):
        return self.head is not None and any(ancestor is self.head for ancestor in element.iterancestors())

    @cached_property
    def blocks(self):
        return extract_blocks(self.body) if self.body is not None else []

    @cached_property
    def text_key(self):
        from .text import norm

        return norm(" ".join(block.text for block in self.blocks))

    @cached_property
    def anchors(self):
        """(absolute href, element) of every link in the page's body."""
        if self.body is None:
            return []
        return [(self.absolute(a.get("href")), a) for a in self.body.iter("a") if a.get("href")]

    def rel_links(self, rel):
        """(absolute href, in head) of every `<link>` whose rel includes `rel`."""
        found = []
        for link in self.root.iter("link"):
            if rel in (link.get("rel") or "").lower().split():
                found.append((self.absolute(link.get("href")), self.in_head(link)))
        return found

    def metas(self, *names):
        """(name, content, in head) of every `<meta name=...>` with one of `names`."""
        found = []
        for meta in self.root.iter("meta"):
            name = (meta.get("name") or meta.get("property") or "").strip().lower()
            if name in names:
                found.append((name, meta.get("content") or "", self.in_head(meta)))
        return found

    @cached_property
    def images(self):
        """Every picture the page shows or announces: (absolute URL, where, element)."""
        found = []
        for element in self.root.iter("img", "source", "amp-img", "amp-anim", "image", "input"):
            if element.tag == "input" and (element.get("type") or "").lower() != "image":
                continue
            for attribute in IMAGE_ATTRIBUTES + ("href", "{http://www.w3.org/1999/xlink}href"):
                value = element.get(attribute)
                if value and not value.strip().lower().startswith("data:"):
                    found.append((self.absolute(value), f"<{element.tag} {attribute}>", element))
            for attribute in SRCSET_ATTRIBUTES:
                for value in srcset_urls(element.get(attribute) or ""):
                    found.append((self.absolute(value), f"<{element.tag} {attribute}>", element))
        for element in self.root.xpath("//*[contains(@style, 'url(')]"):
            for value in _CSS_URL.findall(element.get("style")):
                found.append((self.absolute(value), f"<{element.tag} style>", element))
        for name, content, _ in self.metas("og:image", "og:image:url", "og:image:secure_url", "twitter:image"):
            if content:
                found.append((self.absolute(content), f'<meta {name}>', None))
        for href, _ in self.rel_links("image_src"):
            found.append((href, "<link image_src>", None))
        return found
