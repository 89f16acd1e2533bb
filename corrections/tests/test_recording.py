"""Publishing a story again with a correction or a substantive update records one Change (its words, the
paragraphs that changed, the next version) and a Notice for every copy of the story, with an email and a
webhook message for the partners that run them; nothing else is recorded, and nothing twice."""

import json
from datetime import date

import pytest
from django.core.management import call_command
from django.utils.formats import date_format
from wagtail.signals import page_published

import corrections.signals  # noqa: F401  connected by corrections/apps.py in the running site
from corrections import recording
from corrections.models import Change, Message, Notice
from partners.models import Partner, PartnerContact, PartnerSite
from republish import pixel
from republish.factories import RepublishingPolicyFactory
from stories.factories import StoryPageFactory, paragraphs
from stories.models import Correction, StoryPage
from tracking.api import Copy
from tracking.factories import CopyFactory

pytestmark = pytest.mark.django_db

BODY = ("<p>The council voted on Tuesday to pass the harbor budget.</p>",
        "<p>The mayor, Jon Smith, abstained.</p>",
        "<p>Residents spoke for three hours.</p>")
FIXED = ("<p>The council voted on Tuesday to pass the harbor budget.</p>",
         "<p>The mayor, Jon Smyth, abstained.</p>",
         "<p>Residents spoke for three hours.</p>")
CORRECTION = "<p>An earlier version of this story misspelled the mayor’s name.</p>"
DAY = date(2026, 5, 4)


@pytest.fixture(autouse=True)
def nothing_went_wrong_quietly(caplog):
    """The signal logs what goes wrong instead of failing the publication: here it must not go wrong."""
    yield
    assert not [r for r in caplog.records if r.name.startswith("corrections") and r.levelname == "ERROR"]


@pytest.fixture
def policy(site):
    return RepublishingPolicyFactory(site=site)


@pytest.fixture
def story(news, newsroom, policy):
    """A story published once through a revision, as editors publish: nothing to tell anyone yet."""
    story = StoryPageFactory(parent=news, title="Council passes the harbor budget", slug="harbor-budget",
                             body=paragraphs(*BODY))
    story.save_revision().publish()
    assert not Change.objects.exists()
    return StoryPage.objects.get(pk=story.pk)


def publish(story, body=None, correction=None, **fields):
    """Publish `story` again as an editor does: the latest version, edited, saved as a revision, published;
    then the send_notices job's first step, as it runs within a minute (recording.notify_pending)."""
    page = StoryPage.objects.get(pk=story.pk)
    if body is not None:
        page.body = paragraphs(*body)
    if correction is not None:
        page.corrections.add(Correction(date=correction[0], text=correction[1]))
    for name, value in fields.items():
        setattr(page, name, value)
    revision = page.save_revision()
    revision.publish()
    recording.notify_pending()
    return revision


def correct(story):
    return publish(story, body=FIXED, correction=(DAY, CORRECTION))


@pytest.fixture
def gazette(site):
    partner = Partner.objects.create(name="Harbor Gazette", webhook_url="https://hooks.gazette.example/byline")
    PartnerSite.objects.create(partner=partner, host="gazette.example")
    PartnerContact.objects.create(partner=partner, name="Ana", email="ana@gazette.example")
    PartnerContact.objects.create(partner=partner, name="Desk", email="desk@gazette.example")
    return partner


# ---- what a publication changed

def test_a_correction_records_one_change_with_the_changed_paragraph_and_version_2(story):
    before = story.live_revision_id
    revision = correct(story)
    (change,) = Change.objects.all()
    assert change.story_id == story.pk and change.kind == Change.CORRECTION
    assert change.text == f"{date_format(DAY)}: An earlier version of this story misspelled the mayor’s name."
    assert change.diff == [{"before": "The mayor, Jon Smith, abstained.", "after": "The mayor, Jon Smyth, abstained."}]
    assert (change.before_revision_id, change.after_revision_id) == (before, revision.pk)
    assert change.version == 2
    assert StoryPage.objects.get(pk=story.pk).version == 2


def test_publishing_without_a_new_correction_or_update_note_records_nothing(story):
    publish(story, body=FIXED, title="Council passes the harbor budget, 5-2")
    assert not Change.objects.exists()
    assert StoryPage.objects.get(pk=story.pk).version == 1
    correct(story)
    publish(story, dek="A new dek.")  # the correction is not new any more
    assert Change.objects.count() == 1
    assert StoryPage.objects.get(pk=story.pk).version == 2


def test_a_substantive_update_note_records_an_update_once(story):
    note = "We added the council’s vote count."
    publish(story, body=(*BODY, "<p>The vote was 5-2.</p>"), update_note=note)
    (change,) = Change.objects.all()
    assert (change.kind, change.text, change.version) == (Change.UPDATE, note, 2)
    assert change.diff == [{"before": "", "after": "The vote was 5-2."}]
    publish(story, dek="The same note, published again.")
    assert Change.objects.count() == 1
    publish(story, update_note="We named the two who voted against.")
    assert list(Change.objects.values_list("kind", "version")) == [(Change.UPDATE, 2), (Change.UPDATE, 3)]
    assert StoryPage.objects.get(pk=story.pk).version == 3


def test_removed_and_added_paragraphs_are_paired_with_nothing(story):
    correct(story)
    publish(story, body=(BODY[0], "<p>A new closing paragraph.</p>"), correction=(DAY, "<p>Another one.</p>"))
    change = Change.objects.get(version=3)
    assert change.diff == [
        {"before": "The mayor, Jon Smyth, abstained.", "after": "A new closing paragraph."},
        {"before": "Residents spoke for three hours.", "after": ""},
    ]


def test_an_older_revision_published_later_never_takes_the_version_back(story):
    stale = StoryPage.objects.get(pk=story.pk).save_revision()  # made while the story was at version 1
    correct(story)
    stale.publish()
    assert StoryPage.objects.get(pk=story.pk).version == 2
    correct(story)  # the correction is new again against what was live
    assert StoryPage.objects.get(pk=story.pk).version == 3
    assert list(Change.objects.values_list("version", flat=True)) == [2, 3]


def test_a_first_publication_records_nothing(news, policy):
    story = StoryPageFactory(parent=news, live=False, body=paragraphs(*BODY))
    story.corrections.add(Correction(date=DAY, text=CORRECTION))
    story.save_revision().publish()
    assert not Change.objects.exists()


# ---- who is told

def test_two_copies_on_a_partners_site_are_told_by_email_and_webhook(story, gazette):
    first = CopyFactory(story=story, url="https://gazette.example/2026/05/harbor-budget/")
    second = CopyFactory(story=story, url="https://www.gazette.example/news/harbor-budget-reprint/")
    revision = correct(story)
    change = Change.objects.get()
    notices = {notice.copy_id: notice for notice in Notice.objects.filter(change=change)}
    assert set(notices) == {first.pk, second.pk}
    for copy in (first, second):
        notice = notices[copy.pk]
        assert notice.partner == gazette and notice.copy_url == copy.url
        email = notice.messages.get(channel=Message.EMAIL)
        assert email.recipient == "ana@gazette.example, desk@gazette.example"
        assert email.subject == "Correction to “Council passes the harbor budget”"
        assert "Before: The mayor, Jon Smith, abstained.\nAfter: The mayor, Jon Smyth, abstained." in email.body
        assert "An earlier version of this story misspelled the mayor’s name." in email.body
        assert f"Your copy: {copy.url}" in email.body and story.full_url in email.body
        partner_pixel = pixel.pixel_url(story.pk, pixel.partner_via(gazette.pk), "http://testserver/")
        assert partner_pixel in email.body  # the updated handout, with the partner's own pixel
        assert "Correction (" in email.body

        hook = notice.messages.get(channel=Message.WEBHOOK)
        assert hook.recipient == gazette.webhook_url
        data = json.loads(hook.body.encode("utf-8"))
        assert hook.body == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert "’" in hook.body  # UTF-8, not escapes
        assert data["event"] == "story.corrected"
        assert data["copy"] == {"url": copy.url}
        assert data["change"]["diff"] == change.diff and data["change"]["kind"] == "correction"
        assert data["change"]["text"] == change.text and data["change"]["date"].endswith("Z")
        assert data["idempotency_key"] == hook.idempotency_key
        year = story.first_published_at.year
        assert data["story"] == {"id": story.pk, "uri": f"tag:testserver,{year}:story/{story.pk}",
                                 "url": story.full_url, "version": 2}
        assert partner_pixel in data["handout"]["html"] and "Correction (" in data["handout"]["text"]
        assert set(data["handout"]) == {"html", "text", "head"}
    assert revision.pk == change.after_revision_id
    assert Message.objects.count() == 4


def test_a_copy_nobody_is_known_to_run_gets_a_notice_and_no_message(story, gazette):
    copy = CopyFactory(story=story, url="https://elsewhere.example/reprint/")
    CopyFactory(story=story, url=Copy.OUR_SITE)
    CopyFactory(story=story, url=Copy.UNKNOWN)
    correct(story)
    (notice,) = Notice.objects.all()
    assert notice.copy_id == copy.pk and notice.nobody_to_tell and notice.copy_url == copy.url
    assert not Message.objects.exists()


def test_a_copy_counted_by_a_partners_feed_pixel_tells_that_partner(story, gazette):
    copy = CopyFactory(story=story, url=Copy.partner_page(gazette.pk))
    CopyFactory(story=story, url=Copy.partner_page(gazette.pk + 1000))  # a partner since deleted
    correct(story)
    notices = {notice.copy_id: notice for notice in Notice.objects.all()}
    assert len(notices) == 2
    assert notices[copy.pk].partner == gazette
    email = Message.objects.get(channel=Message.EMAIL)
    assert email.notice == notices[copy.pk] and "made from your feed" in email.body
    assert json.loads(Message.objects.get(channel=Message.WEBHOOK).body)["copy"] == {"url": None}


def test_a_partner_without_contacts_or_webhook_gets_what_it_can(story, gazette):
    gazette.contacts.all().delete()
    CopyFactory(story=story, url="https://gazette.example/2026/05/harbor-budget/")
    correct(story)
    assert list(Message.objects.values_list("channel", flat=True)) == [Message.WEBHOOK]


def test_an_update_is_announced_as_one(story, gazette):
    CopyFactory(story=story, url="https://gazette.example/2026/05/harbor-budget/")
    publish(story, update_note="We added the council’s vote count.")
    email = Message.objects.get(channel=Message.EMAIL)
    assert email.subject == "Update to “Council passes the harbor budget”"
    assert "Update:\nWe added the council’s vote count." in email.body
    assert "The story's text is otherwise unchanged." in email.body
    assert json.loads(Message.objects.get(channel=Message.WEBHOOK).body)["event"] == "story.updated"


def test_publishing_records_the_change_and_the_job_tells_the_copies(story, gazette):
    CopyFactory(story=story, url="https://gazette.example/2026/05/harbor-budget/")
    page = StoryPage.objects.get(pk=story.pk)
    page.body = paragraphs(*FIXED)
    page.corrections.add(Correction(date=DAY, text=CORRECTION))
    page.save_revision().publish()
    change = Change.objects.get()
    assert change.notified_at is None and not Notice.objects.exists(), "no handout built in the editor's request"
    call_command("send_notices", verbosity=0)
    change.refresh_from_db()
    assert change.notified_at is not None and Notice.objects.filter(change=change).count() == 1
    assert Message.objects.filter(notice__change=change).count() == 2  # sent or queued: email and webhook
    call_command("send_notices", verbosity=0)
    assert Notice.objects.count() == 1, "a change is told once"


# ---- nothing twice

def test_the_signal_sent_again_duplicates_nothing(story, gazette):
    CopyFactory(story=story, url="https://gazette.example/2026/05/harbor-budget/")
    CopyFactory(story=story, url="https://elsewhere.example/reprint/")
    revision = correct(story)
    counts = (Change.objects.count(), Notice.objects.count(), Message.objects.count())
    assert counts == (1, 2, 2)
    live = StoryPage.objects.get(pk=story.pk)
    page_published.send(sender=StoryPage, instance=live, revision=revision)  # no save before it this time
    page_published.send(sender=StoryPage, instance=revision.as_object(), revision=revision)
    recording.record_publication(live, revision)
    assert (Change.objects.count(), Notice.objects.count(), Message.objects.count()) == counts
    assert StoryPage.objects.get(pk=story.pk).version == 2


def test_notifying_again_adds_only_the_copies_found_since(story, gazette):
    CopyFactory(story=story, url="https://gazette.example/2026/05/harbor-budget/")
    correct(story)
    change = Change.objects.get()
    CopyFactory(story=story, url="https://gazette.example/2026/05/harbor-budget-2/")
    recording.notify(change)
    recording.notify(change)
    assert Notice.objects.count() == 2 and Message.objects.count() == 4


def test_a_story_unpublished_then_published_with_a_correction_is_compared_with_its_last_live_version(story):
    correct(story)
    StoryPage.objects.get(pk=story.pk).unpublish()
    publish(story, correction=(date(2026, 5, 6), "<p>A second correction.</p>"))
    change = Change.objects.get(version=3)
    assert change.text == f"{date_format(date(2026, 5, 6))}: A second correction."
