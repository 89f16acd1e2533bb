"""Which appeal closes a story: the evergreen appeal, campaigns that replace it between their start and end
(time-zone aware, to the microsecond), section appeals, and the order in which they win."""

from datetime import timedelta

import lxml.html
import pytest

from appeals import selection
from appeals.factories import AppealFactory
from appeals.models import Appeal
from appeals.selection import appeal_for_story
from stories.factories import SectionPageFactory, StoryPageFactory

from .helpers import JERUSALEM, NEW_YORK, UTC, at

pytestmark = pytest.mark.django_db
TICK = timedelta(microseconds=1)


@pytest.fixture
def culture(home):
    return SectionPageFactory(parent=home, title="Culture", slug="culture")


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news, title="Council passes the budget")


@pytest.fixture
def review(culture):
    return StoryPageFactory(parent=culture, title="A play about the harbor")


def heading(story, support, now):
    shown = appeal_for_story(story, support, now=now)
    return shown.heading if shown else None


def test_a_campaign_replaces_the_evergreen_appeal_from_its_start_until_its_end(story, support):
    # Typed by an editor in New York: 6 pm on 21 April 2027 (EDT, UTC−4) is 22:00 UTC.
    start, end = at(NEW_YORK, 2027, 4, 21, 18), at(NEW_YORK, 2027, 4, 29, 20)
    AppealFactory(name="Make a Passover Gift Today!", starts_at=start, ends_at=end)
    assert start == at(UTC, 2027, 4, 21, 22)

    assert heading(story, support, start - TICK) == "Keep the Bay Coast informed"
    assert heading(story, support, start) == "Make a Passover Gift Today!"
    assert heading(story, support, end - TICK) == "Make a Passover Gift Today!"
    assert heading(story, support, end) == "Keep the Bay Coast informed"


@pytest.mark.parametrize("zone", [UTC, NEW_YORK, JERUSALEM])
def test_a_boundary_is_one_instant_whatever_time_zone_the_clock_reads(story, support, zone):
    # Passover 2027 begins at sundown in Jerusalem; the campaign starts at midnight there (IDT, UTC+3).
    start = at(JERUSALEM, 2027, 4, 22, 0)
    AppealFactory(name="Make a Passover Gift Today!", starts_at=start, ends_at=start + timedelta(days=8))
    just_before, exactly = (start - TICK).astimezone(zone), start.astimezone(zone)
    assert heading(story, support, just_before) == "Keep the Bay Coast informed"
    assert heading(story, support, exactly) == "Make a Passover Gift Today!"
    # In New York that instant is still the evening before.
    assert start.astimezone(NEW_YORK).date().isoformat() == "2027-04-21"


def test_boundaries_across_a_daylight_saving_change_are_exact(story, support):
    # New York springs forward at 2 am on 14 March 2027: 3 am EDT is 07:00 UTC, not 08:00.
    start = at(NEW_YORK, 2027, 3, 14, 3)
    end = at(NEW_YORK, 2027, 11, 7, 1, 30, fold=1)  # the second 1:30 am, after falling back (EST, 06:30 UTC)
    AppealFactory(name="Spring into giving", starts_at=start, ends_at=end)
    assert heading(story, support, at(UTC, 2027, 3, 14, 6, 59, 59)) == "Keep the Bay Coast informed"
    assert heading(story, support, at(UTC, 2027, 3, 14, 7)) == "Spring into giving"
    assert heading(story, support, at(UTC, 2027, 11, 7, 5, 30)) == "Spring into giving"  # the first 1:30 am
    assert heading(story, support, at(UTC, 2027, 11, 7, 6, 30)) == "Keep the Bay Coast informed"


def test_the_story_page_switches_at_the_boundary(client, story, support, monkeypatch):
    start = at(NEW_YORK, 2027, 4, 21, 18)
    AppealFactory(name="Make a Passover Gift Today!", starts_at=start, ends_at=start + timedelta(days=8))

    def appeal_heading(now):
        monkeypatch.setattr(selection, "now", lambda: now)
        document = lxml.html.document_fromstring(client.get(story.url).content)
        return " ".join(document.xpath('//section[@class="appeal"]//h2')[0].text_content().split())

    assert appeal_heading(start - timedelta(seconds=1)) == "Keep the Bay Coast informed"
    assert appeal_heading(start) == "Make a Passover Gift Today!"
    assert appeal_heading(start + timedelta(days=8)) == "Keep the Bay Coast informed"


def test_a_campaign_shows_its_whole_version_message_signature_and_button(client, story, support, monkeypatch):
    start = at(UTC, 2027, 1, 1)
    AppealFactory(name="Matching gift", starts_at=start, ends_at=start + timedelta(days=30), versions=[{
        "heading": "Double your gift", "message": "<p>A donor <i>matches</i> every gift.</p>",
        "signature_name": "Ana Ruiz", "signature_title": "Board chair", "button_label": "Give twice",
        "button_url": "https://donate.example.org/match",
    }])
    monkeypatch.setattr(selection, "now", lambda: start + timedelta(days=1))
    document = lxml.html.document_fromstring(client.get(story.url).content)
    [appeal] = document.xpath('//section[@class="appeal"]')
    text = " ".join(appeal.text_content().split())
    assert "Double your gift" in text and "A donor matches every gift." in text
    assert appeal.xpath('.//*[@class="appeal__name"]')[0].text == "Ana Ruiz"
    assert appeal.xpath('.//*[@class="appeal__title"]')[0].text == "Board chair"
    [button] = appeal.xpath('.//a[contains(@class, "appeal__button")]')
    assert button.text == "Give twice" and button.get("data-appeal-href") == "https://donate.example.org/match"
    assert "Keep the Bay Coast informed" not in text


def test_a_section_appeal_replaces_the_evergreen_appeal_in_its_sections_only(story, review, culture, support):
    AppealFactory(name="Culture desk", sections=[culture], versions=["Keep the arts covered"])
    now = at(UTC, 2027, 2, 1)
    assert heading(review, support, now) == "Keep the arts covered"
    assert heading(story, support, now) == "Keep the Bay Coast informed"


def test_campaign_for_a_section_beats_a_site_wide_one_which_beats_a_section_appeal(
        story, review, news, culture, support):
    start = at(UTC, 2027, 11, 1)
    AppealFactory(name="Culture desk", sections=[culture], versions=["Keep the arts covered"])
    AppealFactory(name="Year-end", starts_at=start, ends_at=start + timedelta(days=60), versions=["Year-end drive"])
    AppealFactory(name="News match", starts_at=start + timedelta(days=10), ends_at=start + timedelta(days=20),
                  sections=[news], versions=["News match"])

    before, during_year_end, during_match = start - TICK, start + timedelta(days=1), start + timedelta(days=11)
    assert heading(review, support, before) == "Keep the arts covered"
    assert heading(story, support, before) == "Keep the Bay Coast informed"
    assert heading(review, support, during_year_end) == "Year-end drive"
    assert heading(story, support, during_year_end) == "Year-end drive"
    assert heading(review, support, during_match) == "Year-end drive"
    assert heading(story, support, during_match) == "News match"


def test_of_two_overlapping_site_wide_campaigns_the_later_start_wins(story, support):
    start = at(UTC, 2027, 11, 1)
    AppealFactory(name="Year-end", starts_at=start, ends_at=start + timedelta(days=60), versions=["Year-end drive"])
    AppealFactory(name="Giving Tuesday", starts_at=start + timedelta(days=29), ends_at=start + timedelta(days=31),
                  versions=["It's Giving Tuesday"])
    assert heading(story, support, start + timedelta(days=29)) == "It's Giving Tuesday"
    assert heading(story, support, start + timedelta(days=31)) == "Year-end drive"


def test_a_paused_appeal_shows_nowhere(story, support, news):
    start = at(UTC, 2027, 1, 1)
    AppealFactory(name="Paused", starts_at=start, ends_at=start + timedelta(days=9), live=False)
    AppealFactory(name="Paused section", sections=[news], live=False)
    assert heading(story, support, start + timedelta(days=1)) == "Keep the Bay Coast informed"


def test_switching_the_appeal_off_in_settings_hides_campaigns_too(client, story, support, monkeypatch):
    start = at(UTC, 2027, 1, 1)
    AppealFactory(name="Winter", starts_at=start, ends_at=start + timedelta(days=9))
    support.appeal_enabled = False
    support.save()
    assert appeal_for_story(story, support, now=start + timedelta(days=1)) is None
    monkeypatch.setattr(selection, "now", lambda: start + timedelta(days=1))
    assert b'class="appeal"' not in client.get(story.url).content


def test_a_campaign_with_no_versions_leaves_the_evergreen_appeal(story, support):
    start = at(UTC, 2027, 1, 1)
    appeal = AppealFactory(name="Empty", starts_at=start, ends_at=start + timedelta(days=9))
    appeal.variants.all().delete()
    assert heading(story, support, start + timedelta(days=1)) == "Keep the Bay Coast informed"


def test_status_follows_the_clock(support):
    start = at(UTC, 2027, 1, 1)
    appeal = AppealFactory(name="Winter", starts_at=start, ends_at=start + timedelta(days=9))
    assert [appeal.status(now) for now in (start - TICK, start, start + timedelta(days=9))] == [
        "Scheduled", "Running", "Ended"]
    appeal.live = False
    assert appeal.status(start) == "Paused" and not appeal.is_running(start)
    assert Appeal(name="Section").status() == "Always on"
