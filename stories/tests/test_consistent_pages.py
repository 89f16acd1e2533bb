"""Pages that never contradict themselves (issue #18): the outlet's name and tagline said once, a byline that
names where a story comes from, a bio that does not repeat its author's name, headings that do not skip a
level, and one way of writing dates."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import lxml.html
import pytest
from wagtail.rich_text import RichText

from images.factories import BylineImageFactory
from stories.factories import AuthorFactory, CorrectionFactory, OriginFactory, StoryPageFactory
from stories.models import HomePage, Origin, even_headings

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def document(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return lxml.html.document_fromstring(response.content)


def text(element):
    return " ".join(element.text_content().split())


def heading_levels(page):
    return [int(h.tag[1]) for h in page.iter("h1", "h2", "h3", "h4", "h5", "h6")]


def assert_no_skipped_level(levels, url):
    assert levels and levels[0] == 1, (url, levels)
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, f"{url}: h{before} then h{after} in {levels}"


@pytest.fixture
def front(home, newsroom):
    newsroom.tagline = "Independent, nonprofit news for the Bay Coast"
    newsroom.save()
    home.title, home.intro = "The Harbor Ledger", newsroom.tagline  # as the demo used to set it
    home.save_revision().publish()
    return HomePage.objects.get(pk=home.pk)


def test_the_home_page_title_names_the_outlet_once(client, front, news):
    page = document(client, "/")
    assert page.find(".//title").text == "The Harbor Ledger"
    assert document(client, news.url).find(".//title").text == "News | The Harbor Ledger"


def test_the_tagline_appears_once_even_when_the_intro_repeats_it(client, front, news):
    StoryPageFactory(parent=news)
    html = client.get("/").content.decode()
    assert html.count("Independent, nonprofit news for the Bay Coast") == 1


def test_an_intro_of_its_own_still_shows(client, front):
    front.intro = "Reporting on the harbor, the schools and the rent since 2019."
    front.save_revision().publish()
    assert "Reporting on the harbor, the schools and the rent since 2019." in client.get("/").content.decode()


def test_headings_never_skip_a_level_on_home_section_and_story_pages(client, front, news):
    author = AuthorFactory(name="Rosa Delgado")
    story = StoryPageFactory(parent=news, title="Council passes the budget", authors=[author], body=[
        ("paragraph", RichText("<h3>What the vote means</h3><p>Rents rise less.</p><h4>For tenants</h4>")),
        ("heading", "What comes next"),
        ("paragraph", RichText("<h4>The second reading</h4><p>In June.</p>")),
    ])
    CorrectionFactory(story=story)
    for url in ("/", news.url, story.url):
        assert_no_skipped_level(heading_levels(document(client, url)), url)
    story_headings = [(h.tag, text(h)) for h in document(client, story.url).iter("h2", "h3")]
    assert story_headings[:4] == [("h2", "What the vote means"), ("h3", "For tenants"),
                                  ("h2", "What comes next"), ("h3", "The second reading")]


def test_even_headings_keeps_a_well_ordered_outline_as_it_is():
    html = "<h2>A</h2><p>x</p><h3 class='k'>B</h3><h2>C</h2><h3>D</h3><h4>E</h4>"
    assert even_headings(html) == html
    assert even_headings("<h4>A</h4><h6>B</h6><h2>C</h2>") == "<h2>A</h2><h3>B</h3><h2>C</h2>"


def test_a_wire_stories_byline_names_the_agency_and_explains_its_abbreviation(client, news):
    jta = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA", kind=Origin.WIRE)
    story = StoryPageFactory(parent=news, origin=jta, dateline_place="JERUSALEM",
                             authors=[AuthorFactory(name="Ben Harris"), AuthorFactory(name="Asaf Shalev")])
    page = document(client, story.url)
    [byline] = page.find_class("byline")
    assert text(byline) == "By Ben Harris and Asaf Shalev, JTA"
    [abbr] = byline.iter("abbr")
    assert abbr.text == "JTA" and abbr.get("title") == "Jewish Telegraphic Agency"
    assert "JERUSALEM (JTA) —" in text(page.find_class("story__body")[0])


def test_the_agency_is_explained_in_a_picture_credit_that_comes_before_the_byline(client, news):
    jta = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA", kind=Origin.WIRE)
    story = StoryPageFactory(parent=news, origin=jta, lead_image=BylineImageFactory(credit="JTA/Flash90"))
    page = document(client, story.url)
    [credit] = page.find_class("credit")
    assert text(credit) == "Image by JTA/Flash90"
    assert [(a.text, a.get("title")) for a in credit.iter("abbr")] == [("JTA", "Jewish Telegraphic Agency")]


def test_a_partner_copy_names_the_partner_and_our_own_stories_name_no_one(client, news):
    courier = OriginFactory(name="The Lakeside Courier", short_name="Lakeside Courier", kind=Origin.PARTNER)
    copy = StoryPageFactory(parent=news, origin=courier, authors=[AuthorFactory(name="Greta Olander")])
    own = StoryPageFactory(parent=news, authors=[AuthorFactory(name="Rosa Delgado")])
    [byline] = document(client, copy.url).find_class("byline")
    assert text(byline) == "By Greta Olander, The Lakeside Courier" and not list(byline.iter("abbr"))
    assert text(document(client, own.url).find_class("byline")[0]) == "By Rosa Delgado"


@pytest.mark.parametrize(("short_name", "abbreviation"), [
    ("JTA", "JTA"), ("Lakeside Courier", ""), ("", ""), ("Reuters", "")])
def test_only_a_short_name_that_abbreviates_the_name_is_explained(short_name, abbreviation):
    name = "Reuters" if short_name == "Reuters" else "Jewish Telegraphic Agency"
    assert Origin(name=name, short_name=short_name).abbreviation == abbreviation


def bio_of(client, story):
    return text(document(client, story.url).find_class("author-bio")[0])


def test_a_bio_that_opens_with_the_name_does_not_repeat_it(client, news):
    rosa = AuthorFactory(name="Rosa Delgado", role="a senior reporter covering housing", pronoun="her",
                         bio="Rosa Delgado has covered housing on the Bay Coast for nine years.", email="",
                         social_handle="")
    avery = AuthorFactory(name="Avery Lindqvist", role="a culture reporter", pronoun="them",
                          bio="Avery Lindqvist reports on stages.", email="", social_handle="")
    assert bio_of(client, StoryPageFactory(parent=news, authors=[rosa])) == (
        "Rosa Delgado has covered housing on the Bay Coast for nine years. She is a senior reporter covering "
        "housing.")
    assert bio_of(client, StoryPageFactory(parent=news, authors=[avery])) == (
        "Avery Lindqvist reports on stages. They are a culture reporter.")


def test_a_bio_without_the_name_is_followed_by_the_name_and_role_once(client, news):
    sam = AuthorFactory(name="Sam Ortiz", role="a data reporter", bio="Covers budgets.", email="",
                        social_handle="")
    assert bio_of(client, StoryPageFactory(parent=news, authors=[sam])) == (
        "Covers budgets. Sam Ortiz is a data reporter.")
    ann = AuthorFactory(name="Ann", role="an editor", bio="Annual reports are her beat.", email="", social_handle="")
    assert bio_of(client, StoryPageFactory(parent=news, authors=[ann])) == (
        "Annual reports are her beat. Ann is an editor.")
    page = document(client, StoryPageFactory(parent=news, authors=[sam]).url)
    assert [b.text for b in page.find_class("author-bio")[0].iter("strong")] == ["Sam Ortiz"]


DATE_WORDS = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|November|"
                        r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\b\.?\s*\d{1,2}, \d{4}|"
                        r"\b\d{1,2} (January|February|March|April|May|June|July|August|September|October|"
                        r"November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b\.? \d{4}")


def test_dates_are_written_one_way_on_story_section_and_home_pages(client, front, news):
    published = datetime(2026, 11, 19, 9, 30, tzinfo=NEW_YORK)
    story = StoryPageFactory(parent=news, first_published_at=published,
                             updated_at=datetime(2026, 11, 20, 14, 5, tzinfo=NEW_YORK))
    CorrectionFactory(story=story, date=date(2026, 11, 21))
    page = document(client, story.url)
    times = [text(t) for t in page.iter("time")]
    assert times[:3] == ["November 19, 2026", "November 20, 2026, 2:05 p.m. EST", "November 21, 2026"]
    for url in ("/", news.url):
        shown = [text(t) for t in document(client, url).iter("time")]
        assert shown == ["November 19, 2026"], url
    for url in ("/", news.url, story.url):
        found = [m.group(0) for m in DATE_WORDS.finditer(text(document(client, url).find(".//main")))]
        assert found and all(re.fullmatch(r"[A-Z][a-z]+ \d{1,2}, \d{4}", d) for d in found), (url, found)
