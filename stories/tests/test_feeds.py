"""RSS and Atom feeds: the newest stories for the whole site and for each section, as feed readers parse them."""

import calendar
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from wagtail.models import PageViewRestriction

from stories.factories import AuthorFactory, SectionPageFactory, StoryPageFactory
from stories.models import NewsroomSettings

pytestmark = pytest.mark.django_db

FEEDS = ["/feeds/rss/", "/feeds/atom/"]


def at(hours_ago):
    return datetime(2026, 11, 20, 12, 0, tzinfo=UTC) - timedelta(hours=hours_ago)


def timestamp(parsed):
    """A feedparser date (a UTC struct_time) as seconds since the epoch."""
    return calendar.timegm(parsed)


def read_feed(client, url):
    response = client.get(url)
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    return response, feed


@pytest.fixture
def newsroom(site):
    newsroom = NewsroomSettings.for_site(site)
    newsroom.outlet_name = "The Harbor Ledger"
    newsroom.tagline = "Independent news for the Bay Coast"
    newsroom.save()
    return newsroom


@pytest.fixture
def culture(home):
    return SectionPageFactory(parent=home, title="Culture", slug="culture", description="Theater and music.")


@pytest.fixture
def story(news):
    story = StoryPageFactory(
        parent=news, title="Council passes the budget", slug="council-passes-the-budget", dek="A late vote.",
        first_published_at=at(3), updated_at=at(1),
        authors=[AuthorFactory(name="Rosa Delgado"), AuthorFactory(name="Theo Marchetti")],
    )
    story.tags.add("Budget", "City Council")
    story.save()
    return story


def test_rss_content_type_and_channel(client, newsroom, story):
    response, feed = read_feed(client, "/feeds/rss/")
    assert response["Content-Type"].startswith("application/rss+xml")
    assert feed.version == "rss20"
    assert feed.feed.title == "The Harbor Ledger"
    assert feed.feed.link == "http://testserver/"
    assert feed.feed.subtitle == "Independent news for the Bay Coast"


def test_atom_content_type_and_channel(client, newsroom, story):
    response, feed = read_feed(client, "/feeds/atom/")
    assert response["Content-Type"].startswith("application/atom+xml")
    assert feed.version == "atom10"
    assert feed.feed.title == "The Harbor Ledger"
    assert feed.feed.link == "http://testserver/"
    assert feed.feed.subtitle == "Independent news for the Bay Coast"


@pytest.mark.parametrize("url", FEEDS)
def test_entry_has_title_summary_and_absolute_link_to_the_story_page(client, newsroom, story, url):
    _, feed = read_feed(client, url)
    [entry] = feed.entries
    assert entry.title == "Council passes the budget"
    assert entry.summary == "A late vote."
    assert entry.link == "http://testserver/news/council-passes-the-budget/"
    assert entry.link == story.full_url
    assert client.get(entry.link).status_code == 200


@pytest.mark.parametrize("url", FEEDS)
def test_entry_names_every_author(client, story, url):
    _, feed = read_feed(client, url)
    assert feed.entries[0].author == "Rosa Delgado, Theo Marchetti"


@pytest.mark.parametrize("url", FEEDS)
def test_entry_categories_are_the_story_tags(client, story, url):
    _, feed = read_feed(client, url)
    assert sorted(tag.term for tag in feed.entries[0].tags) == ["Budget", "City Council"]


@pytest.mark.parametrize("url", FEEDS)
def test_story_without_tags_has_no_categories(client, news, url):
    StoryPageFactory(parent=news)
    _, feed = read_feed(client, url)
    assert "tags" not in feed.entries[0]


def test_rss_publication_date_is_when_the_story_was_first_published(client, story):
    _, feed = read_feed(client, "/feeds/rss/")
    assert timestamp(feed.entries[0].published_parsed) == at(3).timestamp()


def test_atom_gives_publication_and_update_dates(client, story):
    _, feed = read_feed(client, "/feeds/atom/")
    entry = feed.entries[0]
    assert timestamp(entry.published_parsed) == at(3).timestamp()
    assert timestamp(entry.updated_parsed) == at(1).timestamp()


def test_atom_update_date_falls_back_to_the_last_publication(client, news):
    StoryPageFactory(parent=news, first_published_at=at(10), last_published_at=at(4), updated_at=None)
    _, feed = read_feed(client, "/feeds/atom/")
    assert timestamp(feed.entries[0].updated_parsed) == at(4).timestamp()


@pytest.mark.parametrize("url", FEEDS)
def test_newest_stories_come_first(client, news, culture, url):
    for hours, title in [(30, "Oldest"), (2, "Newest"), (12, "Middle")]:
        StoryPageFactory(parent=news if hours != 12 else culture, title=title, first_published_at=at(hours))
    _, feed = read_feed(client, url)
    assert [entry.title for entry in feed.entries] == ["Newest", "Middle", "Oldest"]


def test_feed_holds_the_thirty_newest_stories(client, news):
    for n in range(31):
        StoryPageFactory(parent=news, title=f"Story {n}", first_published_at=at(100 - n))
    _, feed = read_feed(client, "/feeds/rss/")
    titles = [entry.title for entry in feed.entries]
    assert len(titles) == 30
    assert titles[0] == "Story 30" and "Story 0" not in titles


@pytest.mark.parametrize("url", FEEDS + ["/feeds/news/rss/", "/feeds/news/atom/"])
def test_drafts_are_absent(client, news, url):
    StoryPageFactory(parent=news, title="Published story")
    StoryPageFactory(parent=news, title="Draft story", live=False)
    _, feed = read_feed(client, url)
    assert [entry.title for entry in feed.entries] == ["Published story"]


@pytest.mark.parametrize("url", FEEDS)
def test_private_stories_are_absent(client, news, url):
    StoryPageFactory(parent=news, title="Public story")
    private = StoryPageFactory(parent=news, title="Private story")
    PageViewRestriction.objects.create(page=private, restriction_type=PageViewRestriction.PASSWORD, password="x")
    _, feed = read_feed(client, url)
    assert [entry.title for entry in feed.entries] == ["Public story"]


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_section_feed_has_only_that_sections_stories(client, newsroom, news, culture, kind):
    StoryPageFactory(parent=news, title="Council passes the budget", first_published_at=at(5))
    StoryPageFactory(parent=culture, title="A new play opens", first_published_at=at(4))
    StoryPageFactory(parent=culture, title="The fiddle festival returns", first_published_at=at(6))
    _, feed = read_feed(client, f"/feeds/culture/{kind}/")
    assert feed.feed.title == "The Harbor Ledger: Culture"
    assert feed.feed.link == "http://testserver/culture/"
    assert feed.feed.subtitle == "Theater and music."
    assert [entry.title for entry in feed.entries] == ["A new play opens", "The fiddle festival returns"]
    assert all(entry.link.startswith("http://testserver/culture/") for entry in feed.entries)


def test_site_feed_has_every_sections_stories(client, news, culture):
    StoryPageFactory(parent=news, title="From news", first_published_at=at(2))
    StoryPageFactory(parent=culture, title="From culture", first_published_at=at(1))
    _, feed = read_feed(client, "/feeds/rss/")
    assert [entry.title for entry in feed.entries] == ["From culture", "From news"]


def test_empty_section_has_an_empty_feed(client, culture):
    _, feed = read_feed(client, "/feeds/culture/rss/")
    assert feed.feed.title.endswith("Culture")
    assert feed.entries == []


def test_pages_link_to_their_feeds(client, story, news):
    section_html = client.get(news.url).content.decode()
    assert 'type="application/rss+xml"' in section_html and 'href="/feeds/news/rss/"' in section_html
    story_html = client.get(story.url).content.decode()
    assert 'href="/feeds/rss/"' in story_html and 'href="/feeds/atom/"' in story_html


@pytest.mark.parametrize("url", ["/feeds/no-such-section/rss/", "/feeds/no-such-section/atom/"])
def test_unknown_section_feed_is_not_found(client, news, url):
    assert client.get(url).status_code == 404


def test_unpublished_section_has_no_feed(client, home):
    SectionPageFactory(parent=home, title="Hidden", slug="hidden", live=False)
    assert client.get("/feeds/hidden/rss/").status_code == 404
