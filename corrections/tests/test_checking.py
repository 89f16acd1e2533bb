"""A day after a correction, each copy is fetched again and judged: applied, not yet applied (its partner
reminded once), changed otherwise, or gone. The copies live on a partner's site on loopback."""

from datetime import timedelta
from html import escape

import pytest
from django.utils import timezone

from corrections.checking import check, check_due, due_notices
from corrections.models import Change, Message, Notice
from partners.models import Partner, PartnerContact, PartnerSite
from stories.factories import StoryPageFactory
from verify.tests.conftest import PartnerSite as LoopbackSite

pytestmark = pytest.mark.django_db

OLD = "The council voted 5-2 on Tuesday to pass the harbor budget."
NEW = "The council voted 5-2 on Wednesday to pass the harbor budget."
KEPT = "Work on the north pier starts in March."


@pytest.fixture
def loopback(settings):
    settings.FETCH_ALLOW_HOSTS = ["127.0.0.1"]
    settings.VERIFY_HOST_INTERVAL = 0
    site = LoopbackSite()
    site.thread.start()
    yield site
    site.release.set()
    site.server.shutdown()
    site.server.server_close()


def page(*paragraphs):
    body = "".join(f"<p>{escape(text)}</p>" for text in paragraphs)
    return ("<!doctype html><html><head><title>Harbor</title></head><body><article><h1>Harbor budget passes</h1>"
            f"{body}</article></body></html>")


@pytest.fixture
def change(news):
    story = StoryPageFactory(parent=news, title="Harbor budget passes")
    made = Change.objects.create(story=story, kind=Change.CORRECTION, version=2,
                                 text="2026-11-21: The vote was on Wednesday, not Tuesday.",
                                 diff=[{"before": OLD, "after": NEW}])
    Change.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    made.refresh_from_db()
    return made


@pytest.fixture
def gazette(site):
    partner = Partner.objects.create(name="Harbor Gazette")
    PartnerSite.objects.create(partner=partner, host="127.0.0.1")
    PartnerContact.objects.create(partner=partner, name="Desk", email="desk@harbor.example")
    return partner


def notice_for(change, url, partner, n):
    return Notice.objects.create(change=change, copy_id=n, copy_url=url, partner=partner)


def test_a_copy_updated_after_the_notice_is_applied_and_one_not_updated_is_not(loopback, change, gazette):
    updated = notice_for(change, loopback.html("/updated/", page(NEW, KEPT)), gazette, 1)
    stale = notice_for(change, loopback.html("/stale/", page(OLD, KEPT)), gazette, 2)
    assert set(due_notices()) == {updated, stale}
    assert check_due() == {Notice.APPLIED: 1, Notice.NOT_APPLIED: 1}
    updated.refresh_from_db()
    stale.refresh_from_db()
    assert (updated.outcome, stale.outcome) == (Notice.APPLIED, Notice.NOT_APPLIED)
    assert "still there" in stale.outcome_note


def test_the_partner_of_a_copy_not_yet_updated_is_reminded_once(loopback, change, gazette):
    stale = notice_for(change, loopback.html("/stale/", page(OLD, KEPT)), gazette, 2)
    check(stale)
    stale.refresh_from_db()
    check(stale)
    reminders = Message.objects.filter(notice=stale, purpose=Message.REMINDER)
    assert reminders.count() == 1
    reminder = reminders.get()
    assert reminder.recipient == "desk@harbor.example" and reminder.channel == Message.EMAIL
    assert loopback.url("/stale/") in reminder.body and "Wednesday, not Tuesday" in reminder.body


def test_a_copy_edited_otherwise_is_changed_and_a_missing_one_is_gone(loopback, change, gazette):
    edited = notice_for(change, loopback.html("/edited/", page("Something else entirely.", KEPT)), gazette, 3)
    gone = notice_for(change, loopback.url("/deleted/"), gazette, 4)
    assert (check(edited), check(gone)) == (Notice.CHANGED, Notice.GONE)
    assert not Message.objects.exists()  # nobody is reminded of a copy that changed or went


def test_a_correction_that_changed_no_paragraph_is_applied_when_its_words_are_there(loopback, news, gazette):
    story = StoryPageFactory(parent=news, title="Harbor budget passes")
    change = Change.objects.create(story=story, kind=Change.CORRECTION, version=2, diff=[],
                                   text="2026-11-21: An earlier version misspelled the mayor's name.")
    with_it = notice_for(change, loopback.html("/with/", page(KEPT, "Correction: An earlier version misspelled "
                                                                  "the mayor’s name.")), gazette, 5)
    without = notice_for(change, loopback.html("/without/", page(KEPT)), gazette, 6)
    assert check(with_it) == Notice.APPLIED
    assert check(without) == Notice.NOT_APPLIED


def test_a_page_that_cannot_be_fetched_now_is_tried_again_later(loopback, change, gazette):
    loopback.pages["/broken/"] = (503, {"Content-Type": "text/html"}, "busy")
    broken = notice_for(change, loopback.url("/broken/"), gazette, 7)
    assert check(broken) is None
    broken.refresh_from_db()
    assert broken.outcome == Notice.UNCHECKED and "503" in broken.outcome_note
    assert broken not in due_notices()  # checked today: tomorrow again
    assert broken in due_notices(now=timezone.now() + timedelta(days=1, minutes=1))


def test_copies_are_not_checked_before_a_day_has_passed(loopback, news, gazette):
    story = StoryPageFactory(parent=news)
    fresh = Change.objects.create(story=story, kind=Change.CORRECTION, version=2, text="x", diff=[])
    notice_for(fresh, loopback.html("/fresh/", page(KEPT)), gazette, 8)
    assert list(due_notices()) == []
