"""The appeal and the free-to-read line never promise republishing on a story the republish box refuses
(issue #18): a wire story, a partner's copy, a story editors switched off. Our own stories keep every word."""

import lxml.html
import pytest

from appeals.wording import without_republishing, without_republishing_html
from stories.factories import OriginFactory, StoryPageFactory
from stories.models import Origin, StoryPage

FREE_TO_READ = '//footer//p[@class="free-to-read"]'
MESSAGE = '//div[@class="appeal__message"]'


@pytest.mark.parametrize(("line", "expected"), [
    ("Our stories are free to read and free to republish.", "Our stories are free to read."),
    ("Free to read, free to republish, thanks to our members.", "Free to read, thanks to our members."),
    ("This story is free to read and free to republish, thanks to readers who support nonprofit local news.",
     "This story is free to read, thanks to readers who support nonprofit local news."),
    ("FREE TO READ & REPUBLISH", "FREE TO READ"),
    ("Free to read. Other newsrooms may republish it for free!", "Free to read."),
    ("Free to republish.", ""),
    ("Our stories are free because readers pay for them.", "Our stories are free because readers pay for them."),
])
def test_a_line_keeps_what_it_says_about_reading(line, expected):
    assert without_republishing(line) == expected


def test_a_message_loses_the_claim_its_sentences_about_republishing_and_paragraphs_left_empty():
    message = ('<p>Every story is <b>free to read and free to republish</b>. We have no paywall.</p>'
               '<p>Republish us: <a href="https://example.org/guidelines">our guidelines</a>.</p>'
               '<ul><li>Give monthly.</li><li>Share our republishing guidelines.</li></ul>')
    assert without_republishing_html(message) == (
        "<p>Every story is <b>free to read</b>. We have no paywall.</p><ul><li>Give monthly.</li></ul>")
    assert without_republishing_html("<p>Give today.</p>") == "<p>Give today.</p>"
    assert without_republishing_html("<p>Give.</p><ul><li>Republish us.</li></ul>") == "<p>Give.</p>"


def page(client, story):
    response = client.get(story.url)
    assert response.status_code == 200
    return lxml.html.document_fromstring(response.content)


def text(element):
    return " ".join(element.text_content().split())


@pytest.fixture
def claims(support):
    support.appeal_heading = "Free to read, free to republish"
    support.appeal_message = "<p>Our stories are free to read and free to republish. Readers pay for them.</p>"
    support.save()
    return support


@pytest.mark.django_db
@pytest.mark.parametrize("origin", [Origin.WIRE, Origin.PARTNER, None])
def test_a_story_that_may_not_travel_shows_the_texts_without_the_claim(client, news, claims, origin):
    if origin is None:
        story = StoryPageFactory(parent=news, republishing=StoryPage.REPUBLISH_OFF,
                                 republishing_note="The family asked us not to.")
    else:
        story = StoryPageFactory(parent=news, origin=OriginFactory(name="Some Agency", short_name="SA", kind=origin))
    document = page(client, story)
    assert [text(p) for p in document.xpath(FREE_TO_READ)] == ["Free to read, thanks to our members."]
    assert text(document.xpath(MESSAGE)[0]) == "Our stories are free to read. Readers pay for them."
    assert text(document.xpath('//section[@class="appeal"]//h2')[0]) == "Free to read"
    assert "free to republish" not in lxml.html.tostring(document, encoding="unicode").lower()


@pytest.mark.django_db
def test_our_own_story_and_the_home_page_keep_every_word(client, news, claims):
    story = StoryPageFactory(parent=news)
    document = page(client, story)
    assert [text(p) for p in document.xpath(FREE_TO_READ)] == [claims.free_to_read_line]
    assert text(document.xpath(MESSAGE)[0]) == (
        "Our stories are free to read and free to republish. Readers pay for them.")
    home = lxml.html.document_fromstring(client.get("/").content)
    assert [text(p) for p in home.xpath(FREE_TO_READ)] == [claims.free_to_read_line]


@pytest.mark.django_db
def test_a_line_that_only_speaks_of_republishing_is_left_out_of_such_a_story(client, news, support):
    support.free_to_read_line = "Free to republish under CC BY-ND."
    support.save()
    wire = StoryPageFactory(parent=news, origin=OriginFactory(name="Some Agency", short_name="SA"))
    assert page(client, wire).xpath(FREE_TO_READ) == []
