"""What search engines and social sites read: NewsArticle JSON-LD, Open Graph, canonical links, sitemaps, robots.txt."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import extruct
import lxml.html
import pytest
from django.utils import timezone

from images.factories import BylineImageFactory
from stories.factories import AuthorFactory, SectionPageFactory, StoryPageFactory

pytestmark = pytest.mark.django_db

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
BREAKOUT = "</script><script>alert(1)</script>"
PUBLISHED = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)
UPDATED = datetime(2026, 11, 19, 9, 15, tzinfo=UTC)


@pytest.fixture
def story(news, newsroom):
    story = StoryPageFactory(
        parent=news, title="Council passes the budget", slug="council-passes-the-budget", dek="A late vote.",
        lead_image=BylineImageFactory(), first_published_at=PUBLISHED, last_published_at=PUBLISHED,
        updated_at=UPDATED, authors=[AuthorFactory(name="Rosa Delgado"), AuthorFactory(name="Theo Marchetti")],
    )
    story.tags.add("Budget")
    story.save()
    return story


def page_html(client, story):
    response = client.get(story.url)
    assert response.status_code == 200
    return response.content.decode()


def news_article(html, url):
    data = extruct.extract(html, base_url=url, syntaxes=["json-ld"], uniform=True)["json-ld"]
    articles = [item for item in data if item.get("@type") == "NewsArticle"]
    assert len(articles) == 1, data
    return articles[0]


def open_graph(html, url):
    [og] = extruct.extract(html, base_url=url, syntaxes=["opengraph"], uniform=True)["opengraph"]
    return og


# NewsArticle JSON-LD

def test_news_article_headline_authors_and_section(client, story):
    article = news_article(page_html(client, story), story.full_url)
    assert article["@context"] == "https://schema.org"
    assert article["headline"] == "Council passes the budget"
    assert [(a["@type"], a["name"]) for a in article["author"]] == [
        ("Person", "Rosa Delgado"), ("Person", "Theo Marchetti")
    ]
    assert article["articleSection"] == "News"
    assert article["description"] == "A late vote."
    assert article["keywords"] == ["Budget"]


def test_news_article_dates(client, story):
    article = news_article(page_html(client, story), story.full_url)
    assert datetime.fromisoformat(article["datePublished"]) == PUBLISHED
    assert datetime.fromisoformat(article["dateModified"]) == UPDATED


def test_news_article_modified_date_is_the_last_publication_without_an_update(client, news):
    republished = PUBLISHED + timedelta(hours=5)
    story = StoryPageFactory(parent=news, first_published_at=PUBLISHED, last_published_at=republished)
    article = news_article(page_html(client, story), story.full_url)
    assert datetime.fromisoformat(article["datePublished"]) == PUBLISHED
    assert datetime.fromisoformat(article["dateModified"]) == republished


def test_news_article_urls_and_image_are_absolute(client, story):
    article = news_article(page_html(client, story), story.full_url)
    assert article["url"] == article["mainEntityOfPage"] == "http://testserver/news/council-passes-the-budget/"
    [image] = article["image"]
    assert image.startswith("http://testserver/media/images/") and image.endswith(".fill-1200x630.jpg")
    response = client.get(image.removeprefix("http://testserver"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"


def test_news_article_publisher_and_free_access(client, story):
    article = news_article(page_html(client, story), story.full_url)
    assert article["publisher"]["@type"] == "NewsMediaOrganization"
    assert article["publisher"]["name"] == "The Harbor Ledger"
    assert article["publisher"]["url"] == "http://testserver"
    assert article["isAccessibleForFree"] is True


def test_news_article_without_lead_image_has_no_image(client, news):
    story = StoryPageFactory(parent=news, lead_image=None)
    html = page_html(client, story)
    assert "image" not in news_article(html, story.full_url)
    assert "og:image" not in open_graph(html, story.full_url)


def test_long_headline_is_cut_to_110_characters(client, news):
    story = StoryPageFactory(parent=news, title="A" * 150)
    assert news_article(page_html(client, story), story.full_url)["headline"] == "A" * 110


@pytest.mark.parametrize("hostile", [
    BREAKOUT,
    "</SCRIPT ><script>alert(1)</script>",
    "<!--<script>alert(1)</script>",
    "</script ><img src=x onerror=alert(1)>",
])
def test_headline_cannot_break_out_of_the_json_ld_script(client, news, hostile):
    title = f"Budget vote {hostile} tonight"
    story = StoryPageFactory(parent=news, title=title, dek=f"Dek {hostile}")
    html = page_html(client, story)

    article = news_article(html, story.full_url)
    assert article["headline"] == title
    assert article["description"] == f"Dek {hostile}"

    document = lxml.html.document_fromstring(html)
    scripts = document.xpath("//script")
    assert all(script.get("src") or script.get("type") == "application/ld+json" for script in scripts)
    assert not any("alert(1)" in (script.text or "") and script.get("type") != "application/ld+json"
                   for script in scripts)
    assert not document.xpath("//img[@onerror]")
    [ld_script] = document.xpath('//script[@type="application/ld+json"]')
    assert "Budget vote" in ld_script.text and "tonight" in ld_script.text
    assert "<script>alert(1)" not in html.lower()


# Open Graph and canonical link

def test_open_graph_tags(client, story):
    og = open_graph(page_html(client, story), story.full_url)
    assert og["@type"] == "article"
    assert og["og:title"] == "Council passes the budget"
    assert og["og:url"] == "http://testserver/news/council-passes-the-budget/"
    assert og["og:site_name"] == "The Harbor Ledger"
    assert og["og:description"] == "A late vote."
    assert og["og:image"].startswith("http://testserver/media/images/")
    assert og["og:image"].endswith(".fill-1200x630.jpg")
    assert client.get(og["og:image"].removeprefix("http://testserver")).status_code == 200


def test_open_graph_title_is_escaped_not_injected(client, news):
    story = StoryPageFactory(parent=news, title=f'Quote " and {BREAKOUT}')
    html = page_html(client, story)
    assert open_graph(html, story.full_url)["og:title"] == f'Quote " and {BREAKOUT}'
    document = lxml.html.document_fromstring(html)
    assert len(document.xpath('//meta[@property="og:title"]')) == 1


def test_canonical_link_is_the_story_full_url(client, story):
    document = lxml.html.document_fromstring(page_html(client, story))
    [canonical] = document.xpath('//link[@rel="canonical"]')
    assert canonical.get("href") == story.full_url == "http://testserver/news/council-passes-the-budget/"


def test_canonical_link_ignores_the_query_string(client, story):
    response = client.get(story.url, {"utm_source": "newsletter"})
    document = lxml.html.document_fromstring(response.content)
    [canonical] = document.xpath('//link[@rel="canonical"]')
    assert canonical.get("href") == "http://testserver/news/council-passes-the-budget/"


# sitemap.xml

def sitemap_urls(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "xml" in response["Content-Type"]
    root = ET.fromstring(response.content)
    assert root.tag == f"{SITEMAP}urlset"
    return root, {url.findtext(f"{SITEMAP}loc"): url for url in root.findall(f"{SITEMAP}url")}


def test_sitemap_lists_sections_and_live_stories_with_full_urls(client, story, news, home):
    culture = SectionPageFactory(parent=home, title="Culture", slug="culture")
    review = StoryPageFactory(parent=culture, slug="a-new-play-opens")
    draft = StoryPageFactory(parent=news, slug="unfinished-draft", live=False)
    _, urls = sitemap_urls(client, "/sitemap.xml")
    assert "http://testserver/news/council-passes-the-budget/" in urls
    assert "http://testserver/culture/a-new-play-opens/" in urls
    assert {"http://testserver/", "http://testserver/news/", "http://testserver/culture/"} <= set(urls)
    assert draft.slug not in "".join(urls)
    assert review.full_url in urls


def test_sitemap_gives_each_story_its_last_modification(client, story):
    _, urls = sitemap_urls(client, "/sitemap.xml")
    assert urls[story.full_url].findtext(f"{SITEMAP}lastmod") == "2026-11-18"


# sitemap-news.xml

def test_news_sitemap_holds_only_stories_from_the_last_two_days(client, news, newsroom):
    now = timezone.now()
    fresh = StoryPageFactory(parent=news, title="Fresh", slug="fresh", first_published_at=now - timedelta(hours=3))
    yesterday = StoryPageFactory(parent=news, slug="yesterday", first_published_at=now - timedelta(hours=40))
    StoryPageFactory(parent=news, slug="three-days-old", first_published_at=now - timedelta(days=3))
    StoryPageFactory(parent=news, slug="draft", first_published_at=now - timedelta(hours=1), live=False)
    _, urls = sitemap_urls(client, "/sitemap-news.xml")
    assert set(urls) == {fresh.full_url, yesterday.full_url}


def test_news_sitemap_entry_names_the_publication_title_and_date(client, news, newsroom):
    published = timezone.now() - timedelta(hours=3)
    story = StoryPageFactory(parent=news, title="Tides & rents: a report", first_published_at=published)
    _, urls = sitemap_urls(client, "/sitemap-news.xml")
    entry = urls[story.full_url].find(f"{NEWS}news")
    assert entry.findtext(f"{NEWS}publication/{NEWS}name") == "The Harbor Ledger"
    assert entry.findtext(f"{NEWS}publication/{NEWS}language") == "en"
    assert entry.findtext(f"{NEWS}title") == "Tides & rents: a report"
    assert datetime.fromisoformat(entry.findtext(f"{NEWS}publication_date")) == published


def test_news_sitemap_is_valid_xml_when_empty(client, site):
    root, urls = sitemap_urls(client, "/sitemap-news.xml")
    assert urls == {}


# robots.txt

def test_robots_txt_lists_both_sitemaps_and_keeps_crawlers_out_of_the_admin(client, site):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert "Sitemap: http://testserver/sitemap-news.xml" in lines
    assert "Disallow: /admin/" in lines
    for line in lines:
        if line.startswith("Sitemap: "):
            assert client.get(line.removeprefix("Sitemap: http://testserver")).status_code == 200
