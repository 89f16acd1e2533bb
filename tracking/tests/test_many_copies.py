"""Issue #17, finding 4: the Readers and Copies pages of a story read on 10,000 pages stay small (one was
5.4 MB): their tables are paginated, their links carry the range, and totals count every copy."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from stories.factories import StoryPageFactory
from tracking.dashboard import start_of, utc_today
from tracking.models import Copy, Rollup

pytestmark = pytest.mark.django_db
COPIES = 10_000
LIMIT = 300_000  # bytes of HTML per page


@pytest.fixture
def editor(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("editor", "editor@example.org", "pw"))


def many_copies(story, host=None):
    """COPIES copies of `story` with a reader each, yesterday: on as many sites, or all on `host`."""
    now, hour = timezone.now(), start_of(utc_today()) - timedelta(hours=12)
    Copy.objects.bulk_create(
        Copy(story_id=story.pk, url=f"https://{host or f'site{n}.example'}/harbor-cleanup-{n}/",
             host=host or f"site{n}.example", first_seen=now, last_seen=now) for n in range(COPIES))
    Rollup.objects.bulk_create(Rollup(story_id=story.pk, copy=copy, hour=hour, hits=1, views=1, readers=1)
                               for copy in Copy.objects.filter(story_id=story.pk))


def next_link(html):
    match = re.search(r'<a href="([^"]+)" rel="next">', html)
    return unescape(match.group(1)) if match else None


def walk(client, url, row_pattern, pages=None):
    """Every page from `url` on through its Next links (the first `pages` only if given): (pages' sizes, rows
    seen, the first page's HTML)."""
    sizes, rows, first = [], set(), None
    while url and (pages is None or len(sizes) < pages):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        first = first or html
        sizes.append(len(response.content))
        rows |= set(re.findall(row_pattern, html))
        link = next_link(html)
        url = link and (url.split("?")[0] + link)
    return sizes, rows, first


def test_a_story_read_on_10000_sites_has_small_readers_pages_whose_links_keep_the_range(client, editor, news):
    story = StoryPageFactory(parent=news)
    many_copies(story)
    since = (utc_today() - timedelta(days=6)).isoformat()
    url = reverse("tracking_readers:story", args=[story.pk]) + f"?from={since}&to={utc_today().isoformat()}"
    sizes, rows, first = walk(client, url, r"harbor-cleanup-\d+/")
    assert max(sizes) < LIMIT and len(sizes) > 1
    assert len(rows) == COPIES  # every copy, once, across the pages
    assert "10,000</span> copies" in first and "10,000</span> readers" in first
    assert f"from={since}" in next_link(first)
    csv = client.get(url + "&format=csv")
    assert csv.content.decode("utf-8-sig").count("harbor-cleanup-") == COPIES  # the CSV has them all


def test_a_republisher_with_10000_copies_has_small_readers_pages(client, editor, news):
    story = StoryPageFactory(parent=news)
    many_copies(story, host="partner.example")
    sizes, rows, _ = walk(client, reverse("tracking_readers:republisher", args=["partner.example"]),
                          r"harbor-cleanup-\d+/", pages=3)
    assert max(sizes) < LIMIT and len(rows) == 300


def test_a_page_out_of_range_shows_the_last_and_nonsense_the_first(client, editor, news):
    story = StoryPageFactory(parent=news)
    many_copies(story)
    url = reverse("tracking_readers:story", args=[story.pk])
    assert "Page 100 of 100" in client.get(url + "?page=999").content.decode()
    assert "Page 1 of 100" in client.get(url + "?page=x").content.decode()
