"""From hits to views, readers and filtered counts: the definitions editors rely on."""

from datetime import UTC, datetime, timedelta

import pytest

from stories.factories import StoryPageFactory
from tracking import filters
from tracking.counting import count_all_new_hits, count_new_hits, forget_old_data, tally_new_hits
from tracking.factories import PARTNER_COPY, HitFactory, hit
from tracking.models import Copy, FilteredCount, Hit, Rollup, Salt, Visit
from tracking.reports import most_popular, site_overview, story_report, totals_and_days
from tracking.visitors import salt_for

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news)


def count(now=NOON + timedelta(days=3)):
    return count_all_new_hits(now=now)


def totals(story):
    return story_report(story.pk)["totals"]


def test_repeat_hits_within_30_minutes_are_one_view(story):
    for minutes in (0, 10, 29):
        hit(story, NOON + timedelta(minutes=minutes))
    count()
    assert totals(story) == {"hits": 3, "views": 1, "readers": 1}


def test_a_hit_30_minutes_after_the_last_view_is_a_new_view_but_the_same_reader(story):
    hit(story, NOON)
    hit(story, NOON + timedelta(minutes=30))
    hit(story, NOON + timedelta(minutes=45))
    count()
    assert totals(story) == {"hits": 3, "views": 2, "readers": 1}


def test_a_reader_is_counted_once_per_utc_day(story):
    hit(story, NOON)
    hit(story, NOON + timedelta(hours=6))
    hit(story, NOON + timedelta(hours=13))  # 01:00 UTC the next day
    count()
    assert totals(story) == {"hits": 3, "views": 3, "readers": 2}


def test_different_visitors_are_different_readers(story):
    hit(story, NOON, visitor="a")
    hit(story, NOON, visitor="b")
    count()
    assert totals(story)["readers"] == 2


def test_filtered_hits_are_counted_by_reason_and_never_as_views(story):
    hit(story, NOON, filtered=filters.BOT)
    hit(story, NOON, filtered=filters.BOT)
    hit(story, NOON, filtered=filters.FORGED)
    hit(None, NOON, copy="", filtered=filters.MALFORMED)
    count()
    assert totals(story) == {"hits": 0, "views": 0, "readers": 0}
    assert {row.reason: row.hits for row in FilteredCount.objects.all()} == {"bot": 2, "forged": 1, "malformed": 1}


def test_hits_for_unknown_or_unpublished_stories_are_filtered(news):
    draft = StoryPageFactory(parent=news, live=False)
    hit(draft, NOON)
    HitFactory(received_at=NOON, story_id=987654)  # a story that does not exist
    count()
    assert FilteredCount.objects.get(reason=filters.UNKNOWN_STORY).hits == 2
    assert not Rollup.objects.exists()


def test_each_hit_is_counted_exactly_once_however_often_the_job_runs(story):
    hit(story, NOON)
    count()
    count()
    # Stored after the job has counted its time (a writer held up): counted once, as of the job's cursor.
    hit(story, NOON + timedelta(hours=1), visitor="v2")
    later = NOON + timedelta(days=3, minutes=1)
    count(later)
    count(later)
    assert totals(story) == {"hits": 2, "views": 2, "readers": 2}


def test_a_run_whose_hits_another_run_counted_meanwhile_stores_nothing(story):
    hit(story, NOON)
    hit(story, NOON + timedelta(hours=1), visitor="v2")
    later = NOON + timedelta(days=3)
    slow = tally_new_hits(later)  # read and counted, not yet stored
    assert count_new_hits(now=later) == 2  # another run, quicker
    assert slow.store() == 0
    assert totals(story) == {"hits": 2, "views": 2, "readers": 2}
    hit(story, NOON + timedelta(hours=2), visitor="v3")
    # and counting goes on from where the quicker run stopped
    assert count_new_hits(now=later + timedelta(minutes=1)) == 1
    assert totals(story) == {"hits": 3, "views": 3, "readers": 3}


def test_very_recent_hits_wait_for_the_next_run(story):
    hit(story, NOON)
    assert count(now=NOON + timedelta(seconds=1)) == 0
    assert count(now=NOON + timedelta(seconds=11)) == 1


def test_copies_are_kept_with_first_and_last_seen(story):
    hit(story, NOON)
    hit(story, NOON + timedelta(hours=5), visitor="v2")
    hit(story, NOON, copy=Copy.OUR_SITE)
    count()
    report = story_report(story.pk)
    partner = next(row for row in report["copies"] if not row["own"])
    assert partner["url"] == PARTNER_COPY and partner["host"] == "partner.example"
    assert partner["first_seen"] == NOON and partner["last_seen"] == NOON + timedelta(hours=5)
    assert partner["readers"] == 2
    assert [row["url"] for row in report["copies"] if row["own"]] == ["our site"]


def test_counting_in_small_batches_carries_visits_and_copies_from_batch_to_batch(story):
    hit(story, NOON)  # batch 1: a new visit, a new copy
    hit(story, NOON + timedelta(minutes=10), copy=Copy.OUR_SITE)
    hit(story, NOON + timedelta(minutes=40))  # batch 2: the same visitor, 40 minutes on: a view, not a reader
    hit(story, NOON + timedelta(days=1))  # the next UTC day: a reader again
    hit(story, NOON + timedelta(days=1, minutes=5), visitor="v2")  # batch 3
    later = NOON + timedelta(days=3)
    assert [count_new_hits(now=later, batch=2) for _ in range(4)] == [2, 2, 1, 0]
    assert totals(story) == {"hits": 5, "views": 4, "readers": 3}
    partner = Copy.objects.get(story_id=story.pk, url=PARTNER_COPY)
    assert (partner.first_seen, partner.last_seen) == (NOON, NOON + timedelta(days=1, minutes=5))
    assert Rollup.objects.get(story_id=story.pk, copy__url=Copy.OUR_SITE).own
    assert not Rollup.objects.filter(story_id=story.pk, copy=partner, own=True).exists()
    assert Visit.objects.get(visitor="v1", story_id=story.pk).last_view_at == NOON + timedelta(days=1)


def test_most_popular_ranks_by_readers_on_our_site_by_default(news, settings):
    quiet, busy, copied = (StoryPageFactory(parent=news) for _ in range(3))
    now = datetime.now(UTC)
    hit(quiet, now - timedelta(hours=1), copy=Copy.OUR_SITE)
    for n in range(3):
        hit(busy, now - timedelta(hours=2), visitor=f"r{n}", copy=Copy.OUR_SITE)
    for n in range(5):
        hit(copied, now - timedelta(hours=2), visitor=f"c{n}")
    count(now=now)
    assert most_popular() == [busy, quiet]
    assert most_popular(include_copies=True) == [copied, busy, quiet]


def test_most_popular_reads_only_the_window(news):
    old = StoryPageFactory(parent=news)
    now = datetime.now(UTC)
    hit(old, now - timedelta(hours=60), copy=Copy.OUR_SITE)
    count(now=now)
    assert most_popular() == []
    assert most_popular(window_hours=72) == [old]


def test_site_overview_sums_readers_by_day_and_lists_top_republishers(story):
    hit(story, NOON)
    hit(story, NOON + timedelta(days=1), visitor="v2", copy="https://other.example/a")
    hit(story, NOON, filtered=filters.PREFETCH)
    count()
    overview = site_overview(NOON - timedelta(days=1), NOON + timedelta(days=3))  # not "the last 30 days": fixed dates
    assert [row["readers"] for row in overview["by_day"]] == [1, 1]
    assert {row["host"] for row in overview["top_republishers"]} == {"partner.example", "other.example"}
    assert overview["filtered"] == [{"reason": "prefetch", "hits": 1}]


def test_days_are_utc_days_whatever_the_sites_time_zone(story, settings):
    settings.TIME_ZONE = "America/New_York"  # 23:30 UTC is 18:30 the same day there, 00:30 UTC the evening before
    midnight = datetime(2026, 11, 21, tzinfo=UTC)
    for minutes, visitor in ((-30, "a"), (-20, "b"), (30, "c")):
        hit(story, midnight + timedelta(minutes=minutes), visitor=visitor)
    hit(story, midnight + timedelta(minutes=31), visitor="c")  # within 30 minutes of its view: not a view
    count()
    totals, by_day = totals_and_days(Rollup.objects.filter(story_id=story.pk))
    assert totals == {"hits": 4, "views": 3, "readers": 3}
    assert by_day == [{"day": midnight.date() - timedelta(days=1), "views": 2, "readers": 2},
                      {"day": midnight.date(), "views": 1, "readers": 1}]
    assert story_report(story.pk)["by_day"] == by_day


def test_old_salts_visit_keys_and_counted_raw_hits_are_forgotten(story, settings):
    settings.RAW_HIT_RETENTION_DAYS = 30
    now = NOON + timedelta(days=40)
    for days in (0, 1, 2, 5):
        salt_for((now - timedelta(days=days)).date())
    hit(story, NOON)
    count(now=now)
    forget_old_data(now=now)
    assert sorted(Salt.objects.values_list("day", flat=True)) == [(now - timedelta(days=1)).date(), now.date()]
    assert not Visit.objects.exists()
    assert not Hit.objects.exists()
    assert totals(story)["readers"] == 1  # rollups stay


def test_a_reader_whose_browser_sent_no_address_counts_under_an_unknown_page(story):
    hit(story, NOON, copy="")
    count()
    (row,) = story_report(story.pk)["copies"]
    assert row["url"] == "unknown page (no address sent)" and row["readers"] == 1 and row["host"] == ""
