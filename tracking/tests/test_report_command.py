"""`manage.py republication_report`: per story, its copies with views and readers, as a table or JSON."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from stories.factories import StoryPageFactory
from tracking.counting import count_all_new_hits
from tracking.factories import PARTNER_COPY, hit
from tracking.models import Copy

pytestmark = pytest.mark.django_db
NOV_20 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOV_22 = NOV_20 + timedelta(days=2)


def report(*args):
    out = StringIO()
    call_command("republication_report", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def harbor(news):
    return StoryPageFactory(parent=news, title="Harbor cleanup begins")


@pytest.fixture
def schools(news):
    return StoryPageFactory(parent=news, title="Schools reopen")


@pytest.fixture
def counted(harbor, schools):
    """Harbor: on Nov 20 two readers on the partner's copy (one came back after an hour: 3 views) and one on
    our site; on Nov 22 one more on the partner's copy. Schools: one reader on our site on Nov 20."""
    hit(harbor, NOV_20, "a")
    hit(harbor, NOV_20 + timedelta(hours=1), "a")
    hit(harbor, NOV_20, "b")
    hit(harbor, NOV_20, "c", copy=Copy.OUR_SITE)
    hit(harbor, NOV_22, "d")
    hit(schools, NOV_20, "e", copy=Copy.OUR_SITE)
    count_all_new_hits(now=NOV_22 + timedelta(days=1))


NOT_FOUND_BY_BYLINE = {"found_by_byline": False, "origin": "", "finding": ""}


def test_json_gives_one_object_per_story_most_read_first(counted, harbor, schools):
    stories = json.loads(report("--json"))
    assert stories == [
        {"story_id": harbor.pk, "title": "Harbor cleanup begins", "url": harbor.full_url, "copies": [
            {"copy": PARTNER_COPY, "first_seen": "2026-11-20T12:00:00+00:00", "last_seen": "2026-11-22T12:00:00+00:00",
             "views": 4, "readers": 3, **NOT_FOUND_BY_BYLINE},
            {"copy": "our site", "first_seen": "2026-11-20T12:00:00+00:00",
             "last_seen": "2026-11-20T12:00:00+00:00", "views": 1, "readers": 1, **NOT_FOUND_BY_BYLINE},
        ]},
        {"story_id": schools.pk, "title": "Schools reopen", "url": schools.full_url, "copies": [
            {"copy": "our site", "first_seen": "2026-11-20T12:00:00+00:00",
             "last_seen": "2026-11-20T12:00:00+00:00", "views": 1, "readers": 1, **NOT_FOUND_BY_BYLINE},
        ]},
    ]


def test_story_limits_the_report_to_one_story(counted, harbor, schools):
    stories = json.loads(report("--json", "--story", str(schools.pk)))
    assert [entry["story_id"] for entry in stories] == [schools.pk]


def test_since_counts_only_views_and_readers_from_that_utc_day_on(counted, harbor, schools):
    stories = json.loads(report("--json", "--since", "2026-11-21"))
    assert [entry["story_id"] for entry in stories] == [harbor.pk]
    assert [(c["copy"], c["views"], c["readers"]) for c in stories[0]["copies"]] == [(PARTNER_COPY, 1, 1)]


def test_the_table_is_readable(counted, harbor, schools):
    lines = report().splitlines()
    assert lines[0] == "Views and readers over all counted time (times in UTC)."
    start = lines.index(f"Story {harbor.pk}: Harbor cleanup begins  <{harbor.full_url}>")
    assert lines[start + 1].split() == ["Views", "Readers", "First", "seen", "Last", "seen", "Copy"]
    assert lines[start + 2].split() == ["4", "3", "2026-11-20", "12:00", "2026-11-22", "12:00", PARTNER_COPY]
    assert lines[start + 3].split() == ["1", "1", "2026-11-20", "12:00", "2026-11-20", "12:00", "our", "site"]
    assert lines[start + 4].split() == ["5", "4", "in", "all,", "on", "2", "copies"]
    assert lines.index(f"Story {schools.pk}: Schools reopen  <{schools.full_url}>") > start


def test_the_table_with_since_and_a_story_without_readers(counted, harbor, schools):
    output = report("--since", "2026-11-21", "--story", str(schools.pk))
    assert output.splitlines() == [
        "Views and readers since 2026-11-21 (times in UTC).", "",
        f"Story {schools.pk}: Schools reopen  <{schools.full_url}>", "  No views or readers.",
    ]


def test_nothing_counted_says_so(db):
    assert report() == "No views or readers over all counted time.\n"
    assert json.loads(report("--json")) == []


def test_control_characters_in_a_copy_never_reach_the_terminal(harbor):
    hit(harbor, NOV_20, "a", copy="https://partner.example/\x1b[31mred")
    count_all_new_hits(now=NOV_22)
    output = report()
    assert "\x1b" not in output and "https://partner.example/<U+001B>[31mred" in output
    assert json.loads(report("--json"))[0]["copies"][0]["copy"] == "https://partner.example/\x1b[31mred"


@pytest.mark.parametrize("since", ["yesterday", "2026-02-30", "20-11-2026"])
def test_a_bad_since_is_a_clear_error(db, since):
    with pytest.raises(CommandError, match=r"--since must be a date written YYYY-MM-DD, e\.g\. 2026-11-01; got"):
        report("--since", since)


def test_an_unknown_story_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No story with id 987654"):
        report("--story", "987654")


def test_the_help_says_what_is_counted_and_when(capsys):
    with pytest.raises(SystemExit):
        call_command("republication_report", "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert "run_jobs" in help_text and "every minute" in help_text
