"""Most Popular ranks by readers; In Case You Missed It leads with the stories editors pinned."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from republish.pixel import pixel_path
from stories.factories import SectionPageFactory, StoryPageFactory
from stories.models import MissedPin, NewsroomSettings
from tracking.counting import count_all_new_hits
from tracking.models import Copy, Hit

pytestmark = pytest.mark.django_db


def readers(story, count, copy=Copy.OUR_SITE):
    at = timezone.now() - timedelta(hours=1)
    Hit.objects.bulk_create([Hit(received_at=at, story_id=story.pk, via="site", copy=copy, visitor=f"v{n}")
                             for n in range(count)])


def test_our_story_page_counts_its_readers_through_the_pixel(client, news):
    story = StoryPageFactory(parent=news)
    html = client.get(story.url).content.decode()
    assert f'<img class="pixel" src="{pixel_path(story.pk, "site")}" alt="" width="1" height="1">' in html


def test_most_popular_ranks_by_readers_and_tops_up_with_recent_stories(client, news, site):
    old_hit, quiet_hit = (StoryPageFactory(parent=news, first_published_at=timezone.now() - timedelta(days=9))
                          for _ in range(2))
    recent = [StoryPageFactory(parent=news) for _ in range(3)]
    page = StoryPageFactory(parent=news)
    readers(old_hit, 5)
    readers(quiet_hit, 2)
    count_all_new_hits(now=timezone.now())
    popular = client.get(page.url).context["most_popular"]
    assert popular[:2] == [old_hit, quiet_hit]
    assert popular[2:] == sorted(recent, key=lambda s: s.first_published_at, reverse=True)[:2]


def test_copies_count_toward_most_popular_only_when_the_newsroom_says_so(client, news, site):
    copied, local = StoryPageFactory(parent=news), StoryPageFactory(parent=news)
    readers(copied, 6, copy="https://partner.example/story/")
    readers(local, 1)
    count_all_new_hits(now=timezone.now())
    page = StoryPageFactory(parent=news)
    assert client.get(page.url).context["most_popular"][0] == local
    newsroom = NewsroomSettings.for_site(site)
    newsroom.popular_counts_copies = True
    newsroom.save()
    cache.clear()  # Most Popular is cached for a minute
    assert client.get(page.url).context["most_popular"][0] == copied


def test_pinned_stories_lead_in_case_you_missed_it(client, news, home, site):
    culture = SectionPageFactory(parent=home, title="Culture", slug="culture")
    pinned = StoryPageFactory(parent=culture, title="Pinned feature",
                              first_published_at=timezone.now() - timedelta(days=30))
    for n in range(8):
        StoryPageFactory(parent=culture, title=f"Recent {n}")
    newsroom = NewsroomSettings.for_site(site)
    newsroom.save()
    MissedPin.objects.create(newsroom=newsroom, story=pinned, sort_order=0)
    page = StoryPageFactory(parent=news)
    response = client.get(page.url)
    missed = response.context["missed"]
    assert missed[0] == pinned and len(missed) == 4
    assert not set(missed) & set(response.context["most_popular"])
    assert page not in missed


def test_story_pages_draw_their_lists_from_one_pool_until_a_page_changes(client, news):
    first, second = StoryPageFactory(parent=news), StoryPageFactory(parent=news)
    with CaptureQueriesContext(connection) as filling:
        client.get(first.url)
    with CaptureQueriesContext(connection) as drawing:
        assert client.get(second.url).context["most_popular"][0] == first
    assert len(drawing) <= len(filling) - 3  # no latest, ranked or pinned stories fetched again

    newer = StoryPageFactory(parent=news, title="Just published")
    assert client.get(second.url).context["most_popular"][0] == newer
    newer.unpublish()
    assert newer not in client.get(second.url).context["most_popular"]


def test_a_section_pages_its_stories_and_has_no_page_past_the_last(client, news):
    for n in range(25):
        StoryPageFactory(parent=news, title=f"Harbor story {n}")
    first = client.get(news.url)
    assert first.status_code == 200 and first.content.decode().count("Harbor story") == 20
    second = client.get(news.url + "?page=2")
    assert second.status_code == 200 and second.content.decode().count("Harbor story") == 5
    for past in ("3", "999", "99999"):
        assert client.get(news.url + f"?page={past}").status_code == 404, past
    # What the page cache keys as page 1 (byline/edge.py) is page 1, never the last page under its address.
    for odd in ("0", "1", "x", "-2", "²", " "):
        response = client.get(news.url, {"page": odd})
        assert response.status_code == 200 and response.content.decode().count("Harbor story") == 20, odd
