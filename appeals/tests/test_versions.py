"""Versions of a campaign: readers split evenly between them without cookies, the same version for every reader
of one story on one UTC day."""

from collections import Counter
from datetime import date, timedelta

import lxml.html
import pytest

from appeals import selection
from appeals.factories import AppealFactory
from appeals.selection import appeal_for_story, utc_day, variant_index
from stories.factories import StoryPageFactory

from .helpers import BROWSER, NEW_YORK, UTC, at

DAYS = [date(2027, 4, 1) + timedelta(days=n) for n in range(30)]
STORIES = range(1000, 1400)


@pytest.mark.parametrize("count", [2, 3, 4])
def test_story_days_spread_evenly_over_the_versions(count):
    shares = Counter(variant_index(7, story, day, count) for story in STORIES for day in DAYS)
    total = len(STORIES) * len(DAYS)  # 12,000 story-days
    assert sorted(shares) == list(range(count))
    for version in range(count):
        assert abs(shares[version] / total - 1 / count) < 0.015, shares


@pytest.mark.parametrize("count", [2, 3])
def test_every_day_splits_the_stories_evenly(count):
    for day in DAYS:
        shares = Counter(variant_index(7, story, day, count) for story in STORIES)
        assert all(abs(shares[v] / len(STORIES) - 1 / count) < 0.1 for v in range(count)), (day, shares)


def test_a_story_sees_every_version_over_the_days_not_always_the_same():
    for story in STORIES:
        assert len({variant_index(7, story, day, 2) for day in DAYS}) == 2


def test_the_version_is_the_same_on_every_call_and_in_every_process():
    first = [variant_index(7, story, day, 3) for story in STORIES for day in DAYS]
    assert first == [variant_index(7, story, day, 3) for story in STORIES for day in DAYS]
    # A fixed digest (SHA-256), not Python's hash(): every worker process and every release agrees.
    assert [variant_index(7, story, date(2027, 4, 1), 3) for story in range(1000, 1012)] == [
        0, 0, 0, 2, 2, 1, 0, 2, 2, 2, 0, 2]
    assert [variant_index(7, 1000, date(2027, 4, day), 2) for day in range(1, 13)] == [
        0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0]
    assert variant_index(7, 1000, date(2027, 4, 1), 1) == 0


def test_two_campaigns_split_independently():
    same = sum(variant_index(7, story, DAYS[0], 2) == variant_index(8, story, DAYS[0], 2) for story in STORIES)
    assert 0.4 < same / len(STORIES) < 0.6


def test_the_day_is_the_utc_day_so_one_instant_gives_one_version_everywhere():
    evening_in_new_york = at(NEW_YORK, 2027, 4, 21, 21)  # 01:00 UTC on the 22nd
    assert utc_day(evening_in_new_york) == date(2027, 4, 22) == utc_day(evening_in_new_york.astimezone(UTC))


@pytest.mark.django_db
def test_every_reader_of_a_story_on_a_day_sees_the_same_version(client, news, support, monkeypatch):
    start = at(UTC, 2027, 4, 1)
    appeal = AppealFactory(name="Spring", starts_at=start, ends_at=start + timedelta(days=30),
                           versions=["Version one", "Version two"])
    stories = [StoryPageFactory(parent=news, title=f"Story {n}") for n in range(12)]
    now = start + timedelta(days=3, hours=5)
    monkeypatch.setattr(selection, "now", lambda: now)
    variants = appeal.ordered_variants()
    seen = Counter()
    for story in stories:
        expected = variants[variant_index(appeal.pk, story.pk, utc_day(now), 2)].heading
        headings = set()
        for ip in ("203.0.113.7", "198.51.100.22", "192.0.2.99"):  # three readers, no cookies
            response = client.get(story.url, REMOTE_ADDR=ip, HTTP_USER_AGENT=BROWSER)
            assert "Set-Cookie" not in response.headers
            document = lxml.html.document_fromstring(response.content)
            headings.add(document.xpath('//section[@class="appeal"]//h2')[0].text)
        assert headings == {expected}
        seen[expected] += 1
        assert appeal_for_story(story, support, now=now).heading == expected
    assert set(seen) == {"Version one", "Version two"}  # both versions are in use on twelve stories


@pytest.mark.django_db
def test_the_page_names_the_version_and_counts_it(client, news, support, monkeypatch):
    start = at(UTC, 2027, 4, 1)
    appeal = AppealFactory(name="Spring", starts_at=start, ends_at=start + timedelta(days=30), versions=["One", "Two"])
    story = StoryPageFactory(parent=news)
    monkeypatch.setattr(selection, "now", lambda: start)
    shown = appeal_for_story(story, support, now=start)
    document = lxml.html.document_fromstring(client.get(story.url).content)
    [section] = document.xpath('//section[@class="appeal"]')
    assert section.get("data-appeal-version") == shown.version
    assert section.xpath(".//a")[0].get("href") == f"/appeals/click/{shown.variant_id}/{story.pk}/"
    [beacon] = section.xpath('.//img[contains(@class, "appeal__seen")]')
    assert beacon.get("src") == f"/appeals/seen/{shown.variant_id}/{story.pk}.gif"
    assert beacon.get("loading") == "lazy" and beacon.get("alt") == ""
    assert shown.variant_id in {v.pk for v in appeal.ordered_variants()}
