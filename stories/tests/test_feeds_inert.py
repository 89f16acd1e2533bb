"""Text stays text for readers: a headline, dek, author name, caption or credit that looks like markup is
shown as the characters an editor typed, in the feeds, the JSON-LD, the ninjs export and the republish handout,
and never becomes an element or an attribute in whatever renders it.

Feeds are read twice: as feedparser reads them, and as the most trusting reader would, by handing every
title, description and summary to an HTML parser. RSS says nothing about a title's type, so it is read as
HTML; Atom says what each element holds (type="text" or "html"), and it is read as it says.
"""

import json
from html.parser import HTMLParser
from xml.etree import ElementTree

import feedparser
import pytest
from lxml import html as lxml_html

from images.factories import BylineImageFactory
from republish.handout import build_handout
from republish.models import RepublishingPolicy
from stories.factories import AuthorFactory, SectionPageFactory, StoryPageFactory

pytestmark = pytest.mark.django_db

VECTORS = [
    "<img src=x onerror=alert(1)>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    '"><svg onload=alert(1)>',
    "\u202eevil.exe \u202dsafe",
    "Tom & Jerry <3 &amp; \"quotes\" 'too'",
]
FEEDS = ["/feeds/rss/", "/feeds/atom/", "/feeds/culture/rss/", "/feeds/culture/atom/"]
ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"


class Markup(HTMLParser):
    """What a browser builds from an HTML fragment: the elements (with their attributes) and the text."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.elements, self.text = [], []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    def handle_comment(self, data):
        self.elements.append(("<!--", [("text", data)]))

    def handle_decl(self, decl):
        self.elements.append(("<!", [("text", decl)]))

    def handle_pi(self, data):
        self.elements.append(("<?", [("text", data)]))


def shown(html):
    """(elements, text) of `html` as a browser renders it, checked with two parsers that must agree."""
    markup = Markup(html)
    fragment = lxml_html.fragment_fromstring(f"<div>{html}</div>") if html else None
    lxml_elements = [
        (e.tag if isinstance(e.tag, str) else "<!--", sorted(e.attrib.items())) for e in fragment.iter()
    ][1:] if fragment is not None else []
    return markup.elements + lxml_elements, "".join(markup.text)


@pytest.fixture
def culture(home, site):
    return SectionPageFactory(parent=home, title="Culture", slug="culture")


@pytest.fixture
def hostile(culture, newsroom):
    def make(vector):
        image = BylineImageFactory(title=vector, credit=vector, source=vector, default_caption=vector)
        story = StoryPageFactory(
            parent=culture, title=vector, slug="hostile", dek=vector, lead_image=image, lead_image_caption=vector,
            authors=[AuthorFactory(name=vector, slug="hostile-author")],
        )
        story.tags.add("Ordinary tag")
        story.save()
        return story

    return make


def raw_entry_fields(xml):
    """(name, value as the XML holds it once parsed, is it HTML) for the one entry in an RSS or Atom feed."""
    root = ElementTree.fromstring(xml)
    if root.tag == f"{ATOM}feed":
        [entry] = root.findall(f"{ATOM}entry")
        for name in ("title", "summary", "content"):
            element = entry.find(f"{ATOM}{name}")
            if element is not None:
                # Atom's default type is text; "html" means the reader parses it as markup.
                yield name, element.text or "", element.get("type", "text") in ("html", "xhtml")
        yield "author", entry.find(f"{ATOM}author/{ATOM}name").text, False
    else:
        [entry] = root.findall("channel/item")
        # RSS leaves a title's type unsaid and readers differ: the most trusting one parses it as HTML.
        yield "title", entry.findtext("title"), True
        yield "description", entry.findtext("description"), True
        yield "author", entry.findtext(f"{DC}creator") or entry.findtext("author"), False


@pytest.mark.parametrize("url", FEEDS)
@pytest.mark.parametrize("vector", VECTORS, ids=range(len(VECTORS)))
def test_feed_entries_show_hostile_text_as_text_to_every_reader(client, hostile, url, vector):
    hostile(vector)
    response = client.get(url)
    assert response.status_code == 200

    for name, value, is_html in raw_entry_fields(response.content):
        if is_html:
            elements, text = shown(value)
            assert elements == [], (name, value)
            assert text == vector, name
        else:
            assert value == vector, name

    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    [entry] = feed.entries
    for detail in (entry.title_detail, entry.summary_detail):
        if detail.type == "text/html":
            elements, text = shown(detail.value)
            assert elements == [] and text == vector, detail
        else:
            assert detail.value == vector, detail
    assert entry.author == vector


@pytest.mark.parametrize("vector", VECTORS, ids=range(len(VECTORS)))
def test_json_ld_holds_the_plain_text_and_cannot_end_its_script(client, hostile, vector):
    story = hostile(vector)
    response = client.get(story.url)
    assert response.status_code == 200
    page = response.content.decode()
    start = page.index('<script type="application/ld+json">') + len('<script type="application/ld+json">')
    # A browser ends a script element at the first "</script" whatever the JSON around it means.
    script = page[start:page.index("</script", start)]
    data = json.loads(script)
    assert data["headline"] == vector
    assert data["description"] == vector
    assert [author["name"] for author in data["author"]] == [vector]
    assert "<" not in script


@pytest.mark.parametrize("vector", VECTORS, ids=range(len(VECTORS)))
def test_ninjs_export_holds_the_plain_text_and_an_escaped_body(client, hostile, vector):
    story = hostile(vector)
    item = client.get(f"/api/ninjs/{story.pk}").json()
    assert item["headlines"] == [{"role": "main", "value": vector}]
    assert item["descriptions"][0] == {"role": "summary", "value": vector}
    assert item["by"] == vector
    [picture] = item["associations"]
    assert picture["by"] == vector
    assert {"role": "caption", "value": vector} in picture["descriptions"]
    for body in item.get("bodies", []):
        if "html" in body["contenttype"]:
            elements, _ = shown(body["value"])
            # Our own body markup only: paragraphs, emphasis and links, never anything the vector brought.
            assert {tag for tag, _ in elements} <= {"p", "a", "b", "strong", "i", "em", "div"}, body["value"]


@pytest.mark.parametrize("vector", VECTORS, ids=range(len(VECTORS)))
def test_republish_handout_shows_the_headline_and_byline_as_text(hostile, site, vector):
    story = hostile(vector)
    handout = build_handout(story, RepublishingPolicy.for_site(site))
    elements, text = shown(handout.html)
    assert {tag for tag, _ in elements} <= {"h1", "p", "em", "a", "b", "strong", "i", "img", "<!--", "div"}
    for tag, attributes in elements:
        assert all(not name.startswith("on") for name, _ in attributes), (tag, attributes)
    [h1] = lxml_html.fragment_fromstring(handout.html, create_parent="div").findall("h1")
    assert h1.text_content() == vector
    assert handout.text.split("\n\n")[0] == vector
    assert f"By {vector}, " in handout.text
