"""The one sanitizer policy for HTML that enters Byline (imports, wire copy) or leaves it (pages, handouts).

Everything else in the code base calls these functions instead of cleaning HTML its own way, so that a
hole closed here is closed everywhere.
"""

import html as html_module
import re
import unicodedata
from urllib.parse import urljoin, urlsplit

import nh3

# Story bodies: the structure a story needs and nothing that can run, restyle or track.
STORY_TAGS = {
    "p", "br", "h2", "h3", "h4", "b", "strong", "i", "em", "ul", "ol", "li", "blockquote", "a",
}
STORY_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}
# Elements whose content is code or styling, never text: dropped whole rather than unwrapped.
DROP_WITH_CONTENT = {"script", "style", "template", "svg", "math", "iframe", "object", "noscript", "title"}


# What browsers strip from around a URL before reading it: C0 controls and the space, nothing more.
_URL_STRIP = "".join(chr(code) for code in range(0x21))


def _absolute_links(base_url):
    def absolutize(tag, attribute, value):
        if attribute != "href":
            return value
        url = urljoin(base_url, value.strip(_URL_STRIP))
        # Checked again after joining: a value nh3 took for relative must not come out with a scheme.
        return url if urlsplit(url).scheme.lower() in URL_SCHEMES else None

    return absolutize


def clean_html(html, *, tags=STORY_TAGS, attributes=STORY_ATTRIBUTES, link_rel=None, base_url=None):
    """Return `html` reduced to the story allowlist: unknown tags unwrapped, dangerous ones removed whole,
    only http(s)/mailto and relative links kept, no classes, styles, ids or event handlers.
    With `base_url`, relative links become absolute (for HTML that leaves our site)."""
    if not html:
        return ""
    return nh3.clean(
        str(html),
        tags=set(tags),
        clean_content_tags=DROP_WITH_CONTENT - set(tags),
        attributes={tag: set(attrs) for tag, attrs in attributes.items()},
        url_schemes=URL_SCHEMES,
        link_rel=link_rel,
        strip_comments=True,
        attribute_filter=_absolute_links(base_url) if base_url else None,
    )


MAX_TEXT_PASSES = 20


def _strip_markup(html):
    """The text of `html` as nh3 serializes it: no elements, and `&`, `<`, `>` written as entities."""
    return nh3.clean(html, tags=set(), clean_content_tags=DROP_WITH_CONTENT)


def clean_text(text):
    """Plain text from anything: markup removed, entities decoded back to characters, and no markup left
    that decoding made (`&lt;img onerror=…&gt;` is markup spelled in entities: it goes like the rest).
    What it returns is text: where it enters HTML it is escaped, once, like any other text."""
    if not text:
        return ""
    text = html_module.unescape(_strip_markup(str(text)))
    # Entities were decoded once above. Each further pass escapes `&` first, so that it decodes nothing more
    # ("&amp;lt;" in the source stays the text "&lt;") and only removes tags that decoding revealed, or that
    # stood as text inside <xmp>, <textarea> or <title> (whose content HTML reads as text, not markup).
    for _ in range(MAX_TEXT_PASSES):
        again = html_module.unescape(_strip_markup(text.replace("&", "&amp;")))
        if again == text:
            return text.strip()
        text = again
    # Markup nested deeper than any real text is: what is left cannot be trusted to read as text.
    return text.replace("<", "").strip()


# Embeds from oEmbed providers: a frame from an https address and nothing that runs in our page.
EMBED_TAGS = STORY_TAGS | {"iframe", "div"}
EMBED_ATTRIBUTES = STORY_ATTRIBUTES | {
    "iframe": {"src", "width", "height", "title", "allow", "allowfullscreen", "frameborder", "loading"},
}


# What a frame may ask the browser for: what YouTube's and Vimeo's oEmbed HTML asks for to play video, and
# nothing that reaches the reader's devices, sensors, location or money (camera, microphone, geolocation,
# usb, payment, accelerometer...). Each kept by name alone, so for the frame's own origin only.
EMBED_ALLOW = {"autoplay", "clipboard-write", "encrypted-media", "fullscreen", "picture-in-picture", "web-share"}


def _embed_permissions(tag, attribute, value):
    if attribute != "allow":
        return value
    features = [directive.split()[0] for directive in value.split(";") if directive.split()]
    kept = [feature for feature in dict.fromkeys(features) if feature in EMBED_ALLOW]
    return "; ".join(kept) or None


# nh3 passes an allowed iframe's children through as raw text; a frame shows its src, never its
# children, so they are dropped rather than trusted to stay inert.
_IFRAME_CHILDREN = re.compile(r"(<iframe\b[^>]*>).*?(</iframe>)", re.IGNORECASE | re.DOTALL)


def clean_embed(html):
    cleaned = nh3.clean(
        str(html or ""),
        tags=EMBED_TAGS,
        clean_content_tags=DROP_WITH_CONTENT - EMBED_TAGS,
        attributes={tag: set(attrs) for tag, attrs in EMBED_ATTRIBUTES.items()},
        url_schemes={"https"},
        strip_comments=True,
        link_rel=None,
        attribute_filter=_embed_permissions,
    )
    return _IFRAME_CHILDREN.sub(r"\1\2", cleaned)


def is_hidden_character(char):
    """Characters that move, hide or control the text around them rather than show as themselves: C0 and C1
    controls, formatting characters (bidirectional overrides and isolates U+202A–U+202E, U+2066–U+2069, marks
    U+200E/U+200F, zero-width characters, U+FEFF), line and paragraph separators, surrogates, private-use and
    unassigned code points."""
    category = unicodedata.category(char)
    return category[0] == "C" or category in ("Zl", "Zp")


def visible_controls(text, show="<U+{:04X}>".format):
    """`text` with each hidden character (`is_hidden_character`) written out by `show`, by default as
    `<U+202E>`: a copy URL, a host or a partner's text that contains one reads as what it is, and cannot
    reorder or hide what an editor sees around it, on a page or in a terminal."""
    text = "" if text is None else str(text)
    if text.isprintable():  # the usual case: nothing hidden (isprintable is False for all of them)
        return text
    return "".join(show(ord(char)) if is_hidden_character(char) else char for char in text)
