"""WordPress as a partner's copy of a handout meets it, for tests: the block editor's paste handler, kses for
users without `unfiltered_html`, and a theme's page around the post.

    block_editor_paste(html)   the content the block editor saves after `html` is pasted into it
    kses_author(html)          what kses leaves of `html` when a user without unfiltered_html saves it
    save_as(role, html, editor)   both, composed as WordPress applies them to a role's post
    wordpress_page(title, content_html, permalink)   the post as a theme serves it

Written from what WordPress does (Gutenberg's raw-handling filters and image block, wp-includes/kses.php, as
of WordPress 6.x and 7.x), not from its code. Exact for the markup a handout is made of and for the usual
ways of hiding or changing a pixel; coarser for markup a handout never holds (tables, forms, embeds), which
it keeps or unwraps rather than turning into blocks.
"""

import re
from html import escape
from urllib.parse import urlsplit

import lxml.html
from lxml import etree

# Roles as WordPress ships them. On a single site Editors and Administrators have unfiltered_html; on a
# multisite network only Super Admins do, so there everyone's posts go through kses.
ROLES = ("contributor", "author", "editor", "administrator")
FILTERED_ROLES = frozenset({"contributor", "author"})
# block-paste: HTML pasted into the block editor's canvas (as rich text or as text: both go through the
#   paste handler, which turns it into blocks).
# custom-html: a Custom HTML block; code: the block editor's Code editor; classic: the classic editor's
#   Text tab. All three save the markup as typed. (The classic editor's Visual tab first runs TinyMCE's own
#   schema, not modelled here.)
EDITORS = ("block-paste", "custom-html", "code", "classic")


# the block editor's paste handler ----------------------------------------------------------------------------

# Removed with everything inside them before anything else is looked at.
_PASTE_DROPPED = frozenset({"script", "noscript", "template", "style", "iframe"})
# What the paste schemas keep of each element's attributes; every other attribute (style, class, hidden,
# loading, referrerpolicy...) is dropped, on every element.
_PASTE_ATTRIBUTES = {
    "a": ("href", "target", "rel", "id"),
    "img": ("alt", "src", "srcset", "usemap", "ismap", "width", "height"),  # inline, within a paragraph's text
    "ol": ("type", "start", "reversed"),
    "q": ("cite",),
    "td": ("colspan", "rowspan"),
    "th": ("colspan", "rowspan"),
}
# An image of its own becomes an image block, whose markup holds only these.
_IMAGE_BLOCK_ATTRIBUTES = ("src", "alt", "title")
# Elements some block or the phrasing schema accepts; anything else is unwrapped, its content kept.
_PASTE_KNOWN = frozenset({
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "figure", "figcaption", "pre",
    "hr", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "img", "a", "br", "strong", "em", "b", "i",
    "s", "del", "ins", "code", "sub", "sup", "small", "q", "dfn", "var", "samp", "kbd", "mark", "ruby", "rt",
    "rp", "audio", "video", "canvas", "embed", "object", "math",
})
_HTML_INTEGER = re.compile(r"^[\t\n\f\r ]*([+-]?\d+)")


def _dom_size(value):
    """What HTMLImageElement.width (or height) reads for an image that is not rendered: the attribute as an
    HTML integer ("1", "1px", "1.9" all read 1), else 0. Images pasted into the editor are never loaded, so
    the style does not count."""
    match = _HTML_INTEGER.match(value or "")
    return int(match.group(1)) if match else 0


def block_editor_paste(html):
    """The content the block editor saves after `html` was pasted, as the page shows it (without the block
    delimiter comments, which WordPress strips when it renders a post)."""
    html = re.sub(r"<meta[^>]+>", "", html)  # the paste handler removes these from the text first
    root = _parse(html)
    for node in list(root.iter()):
        if node is root or root not in node.iterancestors():
            continue  # the container, or inside something already removed
        if not isinstance(node.tag, str):
            _remove(node)  # comments ("more" and "nextpage" become blocks of their own; no handout has them)
        elif node.tag in _PASTE_DROPPED:
            _remove(node)
        elif node.tag == "img" and (_dom_size(node.get("width")) == 1 or _dom_size(node.get("height")) == 1):
            _remove(node)  # "trackers and hardly visible images"
    for img in list(root.iter("img")):
        _place_image(img)
    for node in list(root.iter()):
        if node is root or not isinstance(node.tag, str):
            continue
        if node.tag not in _PASTE_KNOWN:
            node.drop_tag()
        elif node.tag == "figure" and node.get("class") == "wp-block-image":
            continue
        elif node.tag == "img" and _in_image_block(node):
            kept = {name: node.get(name) for name in _IMAGE_BLOCK_ATTRIBUTES if node.get(name) is not None}
            node.attrib.clear()
            node.attrib.update({"src": kept.get("src", ""), "alt": kept.get("alt", "")})
            if "title" in kept:
                node.set("title", kept["title"])
        else:
            allowed = _PASTE_ATTRIBUTES.get(node.tag, ())
            for name in list(node.attrib):
                if name not in allowed:
                    del node.attrib[name]
    return _serialize(root)


def _place_image(img):
    """An image standing on its own (at the top level, or alone in a paragraph or div) goes into an image
    block's figure; one among a paragraph's text stays inline there."""
    moved = img
    parent = img.getparent()
    if parent.tag == "a" and len(parent) == 1 and not (parent.text or "").strip() and not (img.tail or "").strip():
        moved = parent  # a linked image keeps its link inside the figure
    if moved.getparent().tag == "figure":
        moved.getparent().attrib.clear()
        moved.getparent().set("class", "wp-block-image")  # already a figure: the image block's own
        return
    wrapper = next((a for a in moved.iterancestors() if a.tag in ("p", "div")), None)
    aligned = bool({"alignleft", "alignright", "aligncenter"} & set((img.get("class") or "").split()))
    if wrapper is not None and not aligned and "".join(wrapper.itertext()).strip():
        return
    figure = etree.Element("figure", {"class": "wp-block-image"})
    anchor = wrapper if wrapper is not None else moved
    anchor.addprevious(figure)
    if wrapper is None:
        figure.tail, moved.tail = moved.tail, None  # the text after the image stays where it was
    else:
        _keep_tail(moved)
    figure.append(moved)
    if wrapper is not None and not len(wrapper) and not "".join(wrapper.itertext()).strip():
        _remove(wrapper)  # the paragraph it leaves empty is dropped


def _in_image_block(img):
    return any(a.tag == "figure" and a.get("class") == "wp-block-image" for a in img.iterancestors())


# kses -------------------------------------------------------------------------------------------------------

# The elements kses allows in posts and, for each, its attributes besides the global ones. Any other element
# loses its tags (its text and children stay: kses works on tags, not on elements), so a <script>'s code is
# left as text and an image inside <noscript> comes out of it.
KSES_POST_TAGS = {
    "address": (), "a": ("href", "rel", "rev", "name", "target", "download"), "abbr": (), "acronym": (),
    "area": ("alt", "coords", "href", "nohref", "shape", "target"), "article": ("align",), "aside": ("align",),
    "audio": ("autoplay", "controls", "loop", "muted", "preload", "src"), "b": (), "bdo": (), "big": (),
    "blockquote": ("cite",), "br": (), "button": ("disabled", "name", "type", "value"), "caption": ("align",),
    "cite": (), "code": (), "col": ("align", "char", "charoff", "span", "valign", "width"),
    "colgroup": ("align", "char", "charoff", "span", "valign", "width"), "del": ("datetime",), "dd": (),
    "dfn": (), "details": ("align", "open"), "div": ("align",), "dl": (), "dt": (), "em": (), "fieldset": (),
    "figure": ("align",), "figcaption": ("align",), "font": ("color", "face", "size"), "footer": ("align",),
    "h1": ("align",), "h2": ("align",), "h3": ("align",), "h4": ("align",), "h5": ("align",), "h6": ("align",),
    "header": ("align",), "hgroup": ("align",), "hr": ("align", "noshade", "size", "width"), "i": (),
    "img": ("alt", "align", "border", "height", "hspace", "loading", "longdesc", "vspace", "src", "usemap",
            "width"),
    "ins": ("datetime", "cite"), "kbd": (), "label": ("for",), "legend": ("align",), "li": ("align", "value"),
    "main": ("align",), "map": ("name",), "mark": (), "menu": ("type",), "nav": ("align",),
    "object": ("data", "type"), "p": ("align",), "pre": ("width",), "q": ("cite",), "rb": (), "rp": (),
    "rt": (), "rtc": (), "ruby": (), "s": (), "samp": (), "span": ("align",), "section": ("align",),
    "small": (), "strike": (), "strong": (), "sub": (), "summary": ("align",), "sup": (),
    "table": ("align", "bgcolor", "border", "cellpadding", "cellspacing", "rules", "summary", "width"),
    "tbody": ("align", "char", "charoff", "valign"),
    "td": ("abbr", "align", "axis", "bgcolor", "char", "charoff", "colspan", "headers", "height", "nowrap",
           "rowspan", "scope", "valign", "width"),
    "textarea": ("cols", "rows", "disabled", "name", "readonly"), "tfoot": ("align", "char", "charoff", "valign"),
    "th": ("abbr", "align", "axis", "bgcolor", "char", "charoff", "colspan", "headers", "height", "nowrap",
           "rowspan", "scope", "valign", "width"),
    "thead": ("align", "char", "charoff", "valign"), "title": (), "tr": ("align", "bgcolor", "char", "charoff",
                                                                          "valign"),
    "track": ("default", "kind", "label", "src", "srclang"), "tt": (), "u": (), "ul": ("type",),
    "ol": ("start", "type", "reversed"), "var": (),
    "video": ("autoplay", "controls", "height", "loop", "muted", "playsinline", "poster", "preload", "src",
              "width"),
}
GLOBAL_ATTRIBUTES = frozenset({
    "aria-controls", "aria-current", "aria-describedby", "aria-details", "aria-expanded", "aria-hidden",
    "aria-label", "aria-labelledby", "aria-live", "class", "dir", "hidden", "id", "lang", "style", "title",
    "role", "xml:lang",
})
_DATA_ATTRIBUTE = re.compile(r"^data-[a-z0-9_-]+$")
URI_ATTRIBUTES = frozenset({
    "action", "archive", "background", "cite", "classid", "codebase", "data", "formaction", "href", "icon",
    "longdesc", "manifest", "poster", "profile", "src", "usemap", "xmlns",
})
ALLOWED_PROTOCOLS = frozenset({
    "http", "https", "ftp", "ftps", "mailto", "news", "irc", "irc6", "ircs", "gopher", "nntp", "feed", "telnet",
    "mms", "rtsp", "sms", "svn", "tel", "fax", "xmpp", "webcal", "urn",
})
# The properties an inline style keeps (WordPress's safe_style_css list, unfiltered): names compared exactly,
# as written. Not on it, among others: display, visibility, opacity, outline, clip, clip-path, transform,
# content, pointer-events. position, top/right/bottom/left and z-index joined in 6.2, box-shadow in 6.3.
SAFE_CSS = frozenset({
    "background", "background-color", "background-image", "background-position", "background-repeat",
    "background-size", "background-attachment", "background-blend-mode",
    "border", "border-radius", "border-width", "border-color", "border-style",
    "border-right", "border-right-color", "border-right-style", "border-right-width",
    "border-bottom", "border-bottom-color", "border-bottom-style", "border-bottom-width",
    "border-bottom-left-radius", "border-bottom-right-radius",
    "border-left", "border-left-color", "border-left-style", "border-left-width",
    "border-top", "border-top-color", "border-top-style", "border-top-width",
    "border-top-left-radius", "border-top-right-radius",
    "border-spacing", "border-collapse", "caption-side",
    "columns", "column-count", "column-fill", "column-gap", "column-rule", "column-span", "column-width",
    "color", "filter", "font", "font-family", "font-size", "font-style", "font-variant", "font-weight",
    "letter-spacing", "line-height", "text-align", "text-decoration", "text-indent", "text-transform",
    "height", "min-height", "max-height", "width", "min-width", "max-width",
    "margin", "margin-right", "margin-bottom", "margin-left", "margin-top",
    "margin-block-start", "margin-block-end", "margin-inline-start", "margin-inline-end",
    "padding", "padding-right", "padding-bottom", "padding-left", "padding-top",
    "padding-block-start", "padding-block-end", "padding-inline-start", "padding-inline-end",
    "flex", "flex-basis", "flex-direction", "flex-flow", "flex-grow", "flex-shrink", "flex-wrap",
    "gap", "row-gap", "grid-template-columns", "grid-auto-columns", "grid-column-start", "grid-column-end",
    "grid-column-gap", "grid-template-rows", "grid-auto-rows", "grid-row-start", "grid-row-end", "grid-row-gap",
    "grid-gap", "justify-content", "justify-items", "justify-self", "align-content", "align-items", "align-self",
    "clear", "cursor", "direction", "float", "list-style-type", "object-fit", "object-position", "overflow",
    "vertical-align", "writing-mode",
    "position", "top", "right", "bottom", "left", "z-index", "box-shadow", "aspect-ratio",
})
_CSS_URL_PROPERTIES = frozenset({"background", "background-image", "cursor", "filter", "list-style",
                                 "list-style-image"})
_CSS_GRADIENT_PROPERTIES = frozenset({"background", "background-image"})
_CSS_CUSTOM_PROPERTY = re.compile(r"^--[a-zA-Z0-9_-]+$")
_CSS_FUNCTION = re.compile(r"\b(?:var|calc|min|max|minmax|clamp|repeat)\(")
_CSS_UNSAFE = re.compile(r"[\\(&=}]|/\*")
_GRADIENT = re.compile(r"^(repeating-)?(linear|radial|conic)-gradient\(([^()]|rgba?\([^()]*\))*\)$")


def kses_author(html):
    """What is left of `html` when a user without unfiltered_html (a Contributor or an Author) saves it."""
    root = _parse(html)
    for node in list(root.iter()):
        if node is root:
            continue
        if isinstance(node, etree._Comment):
            _kses_comment(node)
        elif not isinstance(node.tag, str):
            _remove(node)
        elif node.tag not in KSES_POST_TAGS:
            node.drop_tag()
        else:
            _kses_attributes(node)
    return _serialize(root)


def _kses_attributes(node):
    allowed = GLOBAL_ATTRIBUTES.union(KSES_POST_TAGS[node.tag])
    for name, value in list(node.attrib.items()):
        if name not in allowed and not _DATA_ATTRIBUTE.match(name):
            del node.attrib[name]
        elif name == "style":
            style = safecss_filter_attr(value)
            if style:
                node.set(name, style)
            else:
                del node.attrib[name]
        elif name in URI_ATTRIBUTES:
            node.set(name, strip_bad_protocols(value))


def _kses_comment(comment):
    """kses keeps comments (the block editor's delimiters live in them), filters what is inside them as it
    filters the post, and squeezes runs of dashes so that none can end the comment early."""
    text = comment.text or ""
    for _ in range(5):
        filtered = kses_author(text) if "<" in text else text
        if filtered == text:
            break
        text = filtered
    text = re.sub(r"-{2,}", "-", text).removesuffix("-")
    if text:
        comment.text = text
    else:
        _remove(comment)


def safecss_filter_attr(css):
    """An inline style with only the declarations kses allows: a property on SAFE_CSS (or a custom property),
    and a value without backslashes, parentheses, &, =, } or comments, except inside url() of an allowed
    protocol on properties that take URLs, gradients on backgrounds, and var(), calc(), min(), max(),
    minmax(), clamp() and repeat(). Declarations without a colon are kept, as kses keeps them."""
    kept = []
    for item in re.sub(r"[\n\r\t]", "", css).strip().split(";"):
        item = item.strip()
        if not item:
            continue
        test, found, takes_url, takes_gradient, value = item, True, False, False, ""
        if ":" in item:
            name, value = (part.strip() for part in item.split(":", 1))
            custom = bool(_CSS_CUSTOM_PROPERTY.match(name))
            found = name in SAFE_CSS or custom
            takes_url = value.startswith("url(") if custom else name in _CSS_URL_PROPERTIES
            takes_gradient = "-gradient(" in value if custom else name in _CSS_GRADIENT_PROPERTIES
        if found and takes_url:
            for call in re.findall(r"url\([^)]+\)", value):
                inner = re.match(r"^url\(\s*(['\"]?)(.*)\1\s*\)$", call)
                url = inner.group(2).strip() if inner else ""
                if not url or strip_bad_protocols(url) != url:
                    found = False
                    break
                test = test.replace(call, "")
        if found and takes_gradient and _GRADIENT.match(value):
            test = test.replace(value, "")
        if found and not _CSS_UNSAFE.search(_without_css_functions(test)):
            kept.append(item)
    return ";".join(kept)


def _without_css_functions(text):
    """`text` without the allowed CSS functions' calls, each with its balanced parentheses."""
    out, start = [], 0
    while match := _CSS_FUNCTION.search(text, start):
        depth, end = 0, match.end() - 1
        for end in range(match.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if not depth:
                break
        if depth:
            break  # unbalanced: left for the unsafe-character test to refuse
        out.append(text[start:match.start()])
        start = end + 1
    out.append(text[start:])
    return "".join(out)


def strip_bad_protocols(url):
    """A URL attribute's value with every scheme kses does not allow taken off its front ("javascript:x"
    becomes "x"); a colon after a slash or a question mark is not a scheme's."""
    for _ in range(6):
        before, colon, after = url.partition(":")
        if not colon or re.search(r"[/?]", before) or before.strip().lower() in ALLOWED_PROTOCOLS:
            return url
        url = after.strip()
    return url


# as WordPress applies them ---------------------------------------------------------------------------------

def save_as(role, html, editor, multisite=False):
    """A post's content after a user of `role` pasted `html` into `editor` and saved: the block editor's
    paste turns it into blocks first; then, for users without unfiltered_html, kses runs on save
    (content_save_pre), whichever editor they used."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if editor not in EDITORS:
        raise ValueError(f"unknown editor {editor!r}")
    if editor == "block-paste":
        html = block_editor_paste(html)
    if role in FILTERED_ROLES or multisite:
        html = kses_author(html)
    return html


# the theme --------------------------------------------------------------------------------------------------

# A classic theme's rules for content images, and the image block's own: they size an image that carries no
# size of its own.
THEME_CSS = """img { max-width: 100%; height: auto; }
.entry-content img { vertical-align: middle; }
.wp-block-image { margin: 0 0 1em; }
.wp-block-image img { box-sizing: border-box; height: auto; max-width: 100%; vertical-align: bottom; }"""


def wordpress_page(title, content_html, permalink, *, site_name="The Tidewater Tribune", head_extra=""):
    """The post as a WordPress theme serves it: WordPress's head (its robots meta, canonical to the post's own
    permalink, generator, REST API link), the theme's stylesheet, header, menu, sidebar and footer, and the
    content inside <article><div class="entry-content">. `head_extra` goes at the end of the head."""
    parts = urlsplit(permalink)
    origin = f"{parts.scheme}://{parts.netloc}"
    title, site = escape(title), escape(site_name)
    theme = f"{origin}/wp-content/themes/tidewater"
    return f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name='robots' content='max-image-preview:large' />
<title>{title} &#8211; {site}</title>
<link rel="alternate" type="application/rss+xml" title="{site} &raquo; Feed" href="{origin}/feed/" />
<link rel='stylesheet' id='tidewater-style-css' href='{theme}/style.css?ver=2.4' media='all' />
<style id='tidewater-inline-css'>
{THEME_CSS}
</style>
<link rel="https://api.w.org/" href="{origin}/wp-json/" />
<link rel="EditURI" type="application/rsd+xml" title="RSD" href="{origin}/xmlrpc.php?rsd" />
<meta name="generator" content="WordPress 7.1" />
<link rel="canonical" href="{escape(permalink)}" />
<link rel='shortlink' href='{origin}/?p=4821' />
{head_extra}
</head>
<body class="post-template-default single single-post postid-4821 single-format-standard">
<div id="page" class="site">
<a class="skip-link screen-reader-text" href="#primary">Skip to content</a>
<header id="masthead" class="site-header">
<p class="site-title"><a href="{origin}/" rel="home">{site}</a></p>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">
<li class="menu-item"><a href="{origin}/category/local/">Local</a></li>
<li class="menu-item"><a href="{origin}/category/schools/">Schools</a></li>
<li class="menu-item"><a href="{origin}/about/">About</a></li>
</ul></nav>
</header>
<main id="primary" class="site-main">
<article id="post-4821" class="post-4821 post type-post status-publish format-standard hentry category-local">
<header class="entry-header">
<h1 class="entry-title">{title}</h1>
<div class="entry-meta"><span class="posted-on">Posted on <a href="{escape(permalink)}" rel="bookmark"><time
class="entry-date published" datetime="2026-05-04T09:12:00-07:00">May 4, 2026</time></a></span></div>
</header>
<div class="entry-content">
{content_html}
</div>
<footer class="entry-footer"><span class="cat-links">Posted in <a href="{origin}/category/local/"
rel="category tag">Local</a></span></footer>
</article>
</main>
<aside id="secondary" class="widget-area"><section class="widget widget_recent_entries">
<h2 class="widget-title">Recent Posts</h2><ul>
<li><a href="{origin}/2026/05/ferry-schedule/">Ferry schedule changes for the summer</a></li>
<li><a href="{origin}/2026/05/library-hours/">Library extends its weekend hours</a></li>
</ul></section></aside>
<footer id="colophon" class="site-footer"><div class="site-info">
<a href="https://wordpress.org/">Proudly powered by WordPress</a></div></footer>
</div>
<script src="{theme}/js/navigation.js?ver=2.4" id="tidewater-navigation-js"></script>
</body>
</html>
"""


# parsing ------------------------------------------------------------------------------------------------------

def _parse(html):
    """The fragment's nodes, comments included, under a <fragment> element that no filter mistakes for
    markup of the fragment's own."""
    return lxml.html.fragment_fromstring(html, create_parent="fragment")


def _serialize(root):
    return escape(root.text or "", quote=False) + "".join(
        lxml.html.tostring(node, encoding="unicode") for node in root
    )


def _keep_tail(node):
    """Hand `node`'s tail to what precedes it, before `node` moves or goes."""
    if not node.tail:
        return
    previous = node.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + node.tail
    else:
        parent = node.getparent()
        parent.text = (parent.text or "") + node.tail
    node.tail = None


def _remove(node):
    _keep_tail(node)
    node.getparent().remove(node)
