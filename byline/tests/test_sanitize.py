"""The one sanitizer policy: whatever HTML comes in, nothing that can run leaves, and a story's structure stays."""

import re
from html import escape
from urllib.parse import urlsplit

import html5lib
import pytest
from django.conf import settings as django_settings
from django.template import Context, Template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from byline.sanitize import clean_embed, clean_html, clean_text

# Hypothesis keeps its caches with Byline's other local state, not in the working tree.
set_hypothesis_home_dir(django_settings.VAR_DIR / "hypothesis")

# Known XSS vectors (OWASP filter evasion cheat sheet, html5sec.org, mutation XSS write-ups), one a line.
XSS_VECTORS = {
    # script elements
    "script": "<script>alert(1)</script>",
    "script-upper-src": "<SCRIPT SRC=//xss.example/x.js></SCRIPT>",
    "script-mixed-case": "<ScRiPt>alert(1)</sCrIpT>",
    "script-split": "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "script-doubled": "<<script>script>alert(1)<</script>/script>",
    "script-attribute-break": '"><script>alert(1)</script>',
    "script-in-attribute-soup": '<img """><script>alert(1)</script>">',
    "script-after-open-tag": "<p <script>alert(1)</script>>",
    "script-in-template": "<template><script>alert(1)</script></template>",
    "script-in-title": "<title><script>alert(1)</script></title>",
    "script-in-textarea": "<textarea><script>alert(1)</script></textarea>",
    "script-in-xmp": "<xmp><script>alert(1)</script></xmp>",
    "script-in-noscript": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "script-unclosed": "<p>text<script>alert(1)",
    # event handlers on many elements
    "img-onerror": "<img src=x onerror=alert(1)>",
    "img-onerror-upper": "<IMG SRC=x ONERROR=alert(1)>",
    "img-onerror-slash": "<img/src=x/onerror=alert(1)>",
    "p-onclick": '<p onclick="alert(1)">hi</p>',
    "b-onmouseover": "<p>ok<b onmouseover=alert(1)>bold</b></p>",
    "a-onfocus-autofocus": '<a href="https://example.org/" onfocus=alert(1) autofocus tabindex=1>x</a>',
    "h2-onclick": "<h2 onclick=alert(1)>Heading</h2>",
    "li-onmouseenter": "<ul><li onmouseenter=alert(1)>item</li></ul>",
    "blockquote-onclick": "<blockquote onclick='alert(1)'>quote</blockquote>",
    "body-onload": "<body onload=alert(1)>",
    "details-ontoggle": "<details open ontoggle=alert(1)>",
    "input-onfocus": "<input onfocus=alert(1) autofocus>",
    "select-onfocus": "<select autofocus onfocus=alert(1)>",
    "video-source-onerror": '<video><source onerror="alert(1)"></video>',
    "audio-onerror": "<audio src=x onerror=alert(1)>",
    "marquee-onstart": "<marquee onstart=alert(1)>x</marquee>",
    "div-onpointerover": "<div onpointerover=alert(1)>move</div>",
    "form-button-formaction": "<form><button formaction=javascript:alert(1)>x</button></form>",
    "handler-with-newline": "<p\nonclick\n=\nalert(1)>x</p>",
    # javascript:, data:, vbscript: URLs in several encodings and cases
    "js-url": '<a href="javascript:alert(1)">x</a>',
    "js-url-mixed-case": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "js-url-leading-space": '<a href=" javascript:alert(1)">x</a>',
    "js-url-tab": '<a href="java\tscript:alert(1)">x</a>',
    "js-url-newline": '<a href="java\nscript:alert(1)">x</a>',
    "js-url-tab-entity": '<a href="java&#x09;script:alert(1)">x</a>',
    "js-url-decimal-entities": (
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>'
    ),
    "js-url-padded-entities": '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114'
                              '&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
    "js-url-hex-entities": '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    "js-url-colon-entity": '<a href="javascript&#58;alert(1)">x</a>',
    "js-url-control-char": '<a href="\x01javascript:alert(1)">x</a>',
    "js-url-unquoted": "<a href=javascript:alert(1)>x</a>",
    "vbscript-url": '<a href="vbscript:msgbox(1)">x</a>',
    "vbscript-url-upper": '<a href="VBSCRIPT:msgbox(1)">x</a>',
    "data-url": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "data-url-mixed-case": '<a href="DaTa:text/html,<script>alert(1)</script>">x</a>',
    "js-url-broken-tag": '<a href="javascript:alert(1)" <b>x</a>',
    # svg and math payloads
    "svg-onload": "<svg onload=alert(1)>",
    "svg-script": "<svg><script>alert(1)</script></svg>",
    "svg-xlink": '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    "svg-animate": '<svg><animate attributeName="href" values="javascript:alert(1)"/></svg>',
    "svg-foreignobject": "<svg><foreignObject><iframe srcdoc='&lt;script&gt;alert(1)&lt;/script&gt;'>"
                         "</iframe></foreignObject></svg>",
    "math-mglyph-style": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "math-href": '<math href="javascript:alert(1)">click</math>',
    "math-maction": '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
    # style attributes and tags
    "style-tag": "<style>body{background:url(javascript:alert(1))}</style>",
    "style-tag-import": "<style>@import 'https://xss.example/x.css';</style>",
    "style-attribute": '<p style="background:url(javascript:alert(1))">x</p>',
    "style-expression": '<div style="width: expression(alert(1))">x</div>',
    "style-behavior": '<p style="behavior: url(x.htc)">x</p>',
    # frames, objects, embeds
    "iframe-js": '<iframe src="javascript:alert(1)"></iframe>',
    "iframe-srcdoc": "<iframe srcdoc=\"&lt;script&gt;alert(1)&lt;/script&gt;\"></iframe>",
    "iframe-data": '<iframe src="data:text/html,<script>alert(1)</script>"></iframe>',
    "frameset": '<frameset><frame src="javascript:alert(1)"></frameset>',
    "object-data": '<object data="javascript:alert(1)"></object>',
    "object-param": '<object><param name="src" value="javascript:alert(1)"></object>',
    "embed-src": '<embed src="javascript:alert(1)">',
    "embed-svg": '<embed src="data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+">',
    "applet": '<applet code="javascript:alert(1)"></applet>',
    # broken and nested markup
    "nested-quotes": '<a href="https://example.org/"" onclick="alert(1)">x</a>',
    "unclosed-attribute": '<p title="x onclick=alert(1)>y</p>',
    "nested-tags": "<b><i><u onclick=alert(1)><script>alert(1)</script></u></i></b>",
    "table-mxss": "<table><td><img src=x onerror=alert(1)></td></table>",
    "select-mxss": "<select><style></select><img src=x onerror=alert(1)></style>",
    "null-byte": "<scr\x00ipt>alert(1)</scr\x00ipt>",
    # comments and conditional comments
    "comment-script": "<!--<script>alert(1)</script>-->",
    "conditional-comment": "<!--[if IE]><script>alert(1)</script><![endif]-->",
    "comment-breakout": "<!-- --!><img src=x onerror=alert(1)> -->",
    "comment-in-attribute": '<a href="https://example.org/" title="<!--"><img src=x onerror=alert(1)>-->">x</a>',
    "cdata": "<![CDATA[<script>alert(1)</script>]]>",
    # base, meta, link
    "base-href": '<base href="javascript:alert(1)//">',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "meta-refresh-data": '<meta http-equiv="refresh" content="0;url=data:text/html,<script>alert(1)</script>">',
    "link-stylesheet": '<link rel="stylesheet" href="javascript:alert(1)">',
    "link-import": '<link rel="import" href="https://xss.example/x.html">',
}

# Elements that can run code, restyle the page, load other documents or change how URLs resolve.
DANGEROUS_ELEMENTS = {
    "script", "style", "svg", "math", "object", "embed", "applet", "base", "meta", "link", "form", "input",
    "button", "select", "textarea", "frame", "frameset", "template", "img", "video", "audio", "source", "param",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background", "srcdoc"}
EVENT_HANDLER_IN_TAG = re.compile(r"<[^>]*[\s/\"'`]on[a-z]+\s*=", re.IGNORECASE)
SCRIPT_URL_IN_TAG = re.compile(r"<[^>]*=\s*[\"'`]?[\x00-\x20]*(?:javascript|vbscript|data)\s*:", re.IGNORECASE)
URL_CONTROL = re.compile(r"[\x00-\x20]")


def elements(html):
    """The elements a browser would build from `html`, parsed by the HTML5 algorithm."""
    fragment = html5lib.parseFragment(html, treebuilder="etree", namespaceHTMLElements=False)
    for element in fragment.iter():
        if element is not fragment and isinstance(element.tag, str):
            yield element.tag.rpartition("}")[2].lower(), element


def assert_nothing_executable(output, *, allowed=frozenset(), text_may_mention_schemes=False):
    """The string a sanitizer returned holds no script, no handler, no dangerous URL, in text or in the DOM.

    The attack corpus names javascript: and vbscript: only in markup, so those words may not survive at all;
    random input may also hold them as plain text, where only a tag carrying them would be a failure."""
    lowered = output.lower()
    assert "<script" not in lowered
    if not text_may_mention_schemes:
        assert "javascript:" not in lowered
        assert "vbscript:" not in lowered
    assert not SCRIPT_URL_IN_TAG.search(output), f"script URL in a tag in {output!r}"
    assert not EVENT_HANDLER_IN_TAG.search(output), f"event handler attribute in {output!r}"
    for tag, element in elements(output):
        assert tag not in DANGEROUS_ELEMENTS - allowed, f"<{tag}> survived in {output!r}"
        for name, value in element.attrib.items():
            name = name.rpartition("}")[2].lower()
            assert not name.startswith("on"), f"{name} survived in {output!r}"
            assert name not in {"style", "srcdoc"}, f"{name} survived in {output!r}"
            if name in URL_ATTRIBUTES:
                url = URL_CONTROL.sub("", value).lower()
                assert not url.startswith(("javascript:", "vbscript:", "data:")), f"{name}={value!r} survived"


def vectors():
    return [pytest.param(vector, id=name) for name, vector in XSS_VECTORS.items()]


@pytest.mark.parametrize("vector", vectors())
def test_story_html_keeps_nothing_executable(vector):
    assert_nothing_executable(clean_html(vector))


@pytest.mark.parametrize("vector", vectors())
def test_story_html_keeps_nothing_executable_inside_a_paragraph(vector):
    output = clean_html(f"<p>Before {vector} after</p>")
    assert_nothing_executable(output)
    assert "Before" in output


@pytest.mark.parametrize("vector", vectors())
def test_html_leaving_the_site_with_absolute_links_keeps_nothing_executable(vector):
    assert_nothing_executable(clean_html(vector, base_url="https://ledger.example/news/a-story/"))


@pytest.mark.parametrize("href, absolute", [
    ("/news/other-story/", "https://ledger.example/news/other-story/"),
    ("other-story/", "https://ledger.example/news/a-story/other-story/"),
    ("#corrections", "https://ledger.example/news/a-story/#corrections"),
    ("  https://example.org/report.pdf ", "https://example.org/report.pdf"),
    ("mailto:desk@ledger.example", "mailto:desk@ledger.example"),
])
def test_html_leaving_the_site_gets_absolute_links(href, absolute):
    output = clean_html(f'<p><a href="{href}">link</a></p>', base_url="https://ledger.example/news/a-story/")
    assert output == f'<p><a href="{absolute}">link</a></p>'


# Unicode spaces are not the "C0 control or space" a browser strips from a URL: before a scheme they leave a
# harmless relative address, as long as nothing strips them afterwards.
UNICODE_SPACE_HREFS = {
    "nbsp": "\xa0javascript:alert(1)",
    "nbsp-entity": "&nbsp;javascript:alert(1)",
    "ideographic-space": "\u3000javascript:alert(1)",
    "line-separator": "\u2028javascript:alert(1)",
}


@pytest.mark.parametrize("href", UNICODE_SPACE_HREFS.values(), ids=UNICODE_SPACE_HREFS.keys())
def test_unicode_space_before_a_scheme_leaves_a_harmless_relative_link(href):
    output = clean_html(f'<p><a href="{href}">x</a></p>')
    assert_nothing_executable(output, text_may_mention_schemes=True)


@pytest.mark.parametrize("href", UNICODE_SPACE_HREFS.values(), ids=UNICODE_SPACE_HREFS.keys())
def test_unicode_space_before_a_scheme_never_becomes_a_script_link_when_links_are_made_absolute(href):
    """Absolutizing runs after nh3's scheme check, so whatever it strips must not uncover a scheme."""
    output = clean_html(f'<p><a href="{href}">x</a></p>', base_url="https://ledger.example/news/a-story/")
    assert_nothing_executable(output, text_may_mention_schemes=True)
    links = [element.get("href") for tag, element in elements(output) if tag == "a" and element.get("href")]
    assert all(urlsplit(link).scheme == "https" for link in links), output


@pytest.mark.parametrize("vector", vectors())
def test_embed_html_keeps_nothing_executable_but_https_frames(vector):
    assert_nothing_executable(clean_embed(vector), allowed={"iframe"})


EMBED_FALLBACK_VECTORS = {
    "iframe-fallback-script": '<iframe src="https://player.example/embed/1"><script>alert(1)</script></iframe>',
    "iframe-fallback-img": '<iframe src="https://player.example/embed/1"><img src=x onerror=alert(1)></iframe>',
    "iframe-title-with-gt": '<iframe src="https://player.example/embed/1" title="a>"><script>alert(1)</script>'
                            '</iframe>" onload=alert(1) x="',
}


@pytest.mark.parametrize("vector", EMBED_FALLBACK_VECTORS.values(), ids=EMBED_FALLBACK_VECTORS.keys())
def test_embed_frame_content_carries_no_markup(vector):
    output = clean_embed(vector)
    assert output.startswith('<iframe src="https://player.example/embed/1"')
    assert_nothing_executable(output, allowed={"iframe"})


@pytest.mark.parametrize("vector", EMBED_FALLBACK_VECTORS.values(), ids=EMBED_FALLBACK_VECTORS.keys())
def test_embed_frame_content_never_becomes_elements_in_a_browser(vector):
    """And once an HTML5 parser reads the result, no element hides in the frame either."""
    tags = [tag for tag, _ in elements(clean_embed(vector))]
    assert "iframe" in tags
    assert "script" not in tags and "img" not in tags


def test_story_structure_is_kept_exactly():
    html = (
        "<h2>What happened</h2><h3>At the council</h3><h4>The vote</h4>"
        "<p>The council voted <b>five</b> to <strong>two</strong>, <i>after</i> a <em>long</em> night.<br>More.</p>"
        "<ul><li>Rent</li><li>Schools</li></ul><ol><li>First</li><li>Second</li></ol>"
        "<blockquote><p>We listened.</p></blockquote>"
        '<p><a href="http://example.org/a">http</a> <a href="https://example.org/b?x=1&amp;y=2">https</a> '
        '<a href="mailto:desk@newsroom.example">mail</a> <a href="/news/rent-vote/">relative</a> '
        '<a href="#corrections">anchor</a></p>'
    )
    assert clean_html(html) == html


def test_unknown_tags_are_unwrapped_and_presentational_attributes_dropped():
    html = (
        '<div class="wrap" id="x"><h1>Title</h1><p class="lead" style="color:red" data-x="1">Text '
        '<span>inside</span> <a href="https://example.org/" target="_blank" rel="opener">link</a></p></div>'
    )
    assert clean_html(html) == 'Title<p>Text inside <a href="https://example.org/">link</a></p>'


def test_dangerous_links_keep_their_text_but_lose_their_address():
    assert clean_html('<p><a href="javascript:alert(1)">Read more</a></p>') == "<p><a>Read more</a></p>"


def test_backticks_are_not_quotes_so_the_address_stays_a_harmless_relative_one():
    output = clean_html("<a href=`javascript:alert(1)`>x</a>")
    [(tag, link)] = list(elements(output))
    assert tag == "a" and link.get("href") == "`javascript:alert(1)`"
    assert not SCRIPT_URL_IN_TAG.search(output)


def test_broken_markup_is_balanced():
    assert clean_html("<p>Unclosed <b>bold <i>both</p>") == "<p>Unclosed <b>bold <i>both</i></b></p>"
    assert clean_html("<p>one<p>two") == "<p>one</p><p>two</p>"


def test_comments_are_removed():
    assert clean_html("<p>Kept<!-- editor's note: check the figure --></p>") == "<p>Kept</p>"


def test_empty_input_gives_empty_output():
    assert clean_html("") == "" and clean_html(None) == ""
    assert clean_text("") == "" and clean_text(None) == ""
    assert clean_embed("") == "" and clean_embed(None) == ""


def test_embeds_keep_an_https_frame_and_its_safe_attributes():
    html = (
        '<iframe src="https://www.youtube-nocookie.com/embed/abc" width="560" height="315" title="Video" '
        'allow="fullscreen" allowfullscreen frameborder="0" loading="lazy"></iframe>'
    )
    assert clean_embed(html) == html.replace("allowfullscreen ", 'allowfullscreen="" ')


@pytest.mark.parametrize("src", [
    "http://player.example/embed/1", "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "JAVASCRIPT:alert(1)", "vbscript:msgbox(1)",
])
def test_embeds_lose_frames_from_anything_but_https(src):
    output = clean_embed(f'<iframe src="{src}" onload="alert(1)" srcdoc="x"></iframe>')
    assert output == "<iframe></iframe>"


@pytest.mark.parametrize("html, text", [
    ('<p onclick="alert(1)">Council <b>votes</b> tonight</p>', "Council votes tonight"),
    ("<script>alert(1)</script>Budget<style>p{color:red}</style> passes", "Budget passes"),
    ("<svg><script>alert(1)</script><text>hidden</text></svg>Visible", "Visible"),
    ('<a href="javascript:alert(1)">Link text</a>', "Link text"),
    ("<img src=x onerror=alert(1)>Caption", "Caption"),
    ("Tom &amp; Jerry &lt;3 &quot;cartoons&quot;", 'Tom & Jerry <3 "cartoons"'),
    ("  <p>  spaced  </p>  ", "spaced"),
    ("<!-- secret --><p>Public</p>", "Public"),
])
def test_plain_text_keeps_the_words_and_nothing_else(html, text):
    assert clean_text(html) == text


def test_plain_text_is_text_for_templates_to_escape_never_html():
    """clean_text decodes entities, so what it returns is escaped wherever it is shown, like any text."""
    text = clean_text("Tom &amp; Jerry &lt;3 cartoons")
    rendered = Template("<p>{{ text }}</p>").render(Context({"text": text}))
    assert rendered == "<p>Tom &amp; Jerry &lt;3 cartoons</p>"


@pytest.mark.parametrize("vector", XSS_VECTORS.values(), ids=XSS_VECTORS.keys())
def test_plain_text_never_decodes_markup_spelled_in_entities(vector):
    """Markup written as entities ("&lt;img onerror=…&gt;") is markup once decoded: it is removed like
    markup, so even a place that forgot to escape the text would build no element from it."""
    for spelled in (escape(vector), f"<p>{escape(vector)}</p>", f"<textarea>{escape(vector)}</textarea>"):
        text = clean_text(spelled)
        assert list(elements(text)) == [], (spelled, text)
        assert_nothing_executable(text, text_may_mention_schemes=True)


def test_plain_text_decodes_entities_once_only():
    assert clean_text("&amp;lt;b&amp;gt; is a tag") == "&lt;b&gt; is a tag"
    assert clean_text("&lt;b&gt;bold&lt;/b&gt; and a &lt; b") == "bold and a < b"


# Random markup built from the pieces attacks are made of, mixed with arbitrary text.
TAGS = ["script", "img", "svg", "math", "a", "p", "b", "iframe", "style", "object", "embed", "base", "meta",
        "link", "div", "h2", "li", "textarea", "noscript", "template", "title", "xmp", "body", "details"]
ATTRIBUTES = ["onclick", "onerror", "ONLOAD", "onmouseover", "href", "src", "style", "xlink:href", "srcdoc",
              "formaction", "on", "one", "onx"]
VALUES = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "&#106;avascript:alert(1)",
          "data:text/html,x", "vbscript:x", "https://example.org/", "/relative", "alert(1)", "x"]
QUOTES = ['"', "'", "`", ""]
piece = st.one_of(
    st.sampled_from(TAGS).map(lambda t: f"<{t}"),
    st.sampled_from(TAGS).map(lambda t: f"</{t}>"),
    st.builds(lambda a, q, v: f" {a}={q}{v}{q}", st.sampled_from(ATTRIBUTES), st.sampled_from(QUOTES),
              st.sampled_from(VALUES)),
    st.sampled_from([">", "<", "/>", "<!--", "-->", "<![CDATA[", "]]>", "&lt;", "&#60;", "\x00", "\n", " ", "="]),
    st.text(max_size=12),
)
random_markup = st.lists(piece, max_size=30).map("".join)
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, database=None,
                             suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(random_markup)
def test_random_markup_never_yields_a_script_or_handler_in_story_html(markup):
    assert_nothing_executable(clean_html(markup), text_may_mention_schemes=True)


@PROPERTY_SETTINGS
@given(random_markup)
def test_random_markup_never_yields_a_script_or_handler_in_embeds(markup):
    assert_nothing_executable(clean_embed(markup), allowed={"iframe"}, text_may_mention_schemes=True)


@PROPERTY_SETTINGS
@given(random_markup)
def test_random_markup_and_its_entity_spelling_never_yield_elements_in_plain_text(markup):
    for source in (markup, escape(markup)):
        assert list(elements(clean_text(source))) == [], source


@PROPERTY_SETTINGS
@given(random_markup)
def test_sanitizing_twice_changes_nothing(markup):
    once = clean_html(markup)
    assert clean_html(once) == once
