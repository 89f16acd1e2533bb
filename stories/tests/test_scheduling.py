"""Scheduled publishing: a story an editor schedules goes live when the job runner (`run_jobs`) next runs
Wagtail's publish_scheduled after its time."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from wagtail.models import Revision

from stories.factories import StoryPageFactory
from stories.models import StoryPage

pytestmark = pytest.mark.django_db


def schedule(story, go_live_at, title=None):
    """What Wagtail's admin does on "Publish" with a go-live date: a revision approved to go live then."""
    story.go_live_at = go_live_at
    if title:
        story.title = title
    return story.save_revision(approved_go_live_at=go_live_at)


def run_jobs():
    out, err = io.StringIO(), io.StringIO()
    call_command("run_jobs", "--once", stdout=out, stderr=err)
    assert err.getvalue() == ""
    return out.getvalue()


@pytest.fixture
def draft(news):
    return StoryPageFactory(parent=news, title="Embargoed report", slug="embargoed-report", live=False,
                            first_published_at=None)


def test_story_scheduled_in_the_past_goes_live(client, draft):
    go_live_at = timezone.now() - timedelta(minutes=5)
    revision = schedule(draft, go_live_at)
    assert client.get("/news/embargoed-report/").status_code == 404

    run_jobs()

    story = StoryPage.objects.get(pk=draft.pk)
    assert story.live
    assert story.live_revision_id == revision.pk
    assert story.first_published_at is not None
    response = client.get("/news/embargoed-report/")
    assert response.status_code == 200
    assert "Embargoed report" in response.content.decode()


def test_publishing_clears_the_schedule(draft):
    revision = schedule(draft, timezone.now() - timedelta(minutes=5))
    run_jobs()
    revision.refresh_from_db()
    assert revision.approved_go_live_at is None
    assert not Revision.objects.filter(approved_go_live_at__isnull=False).exists()


def test_story_scheduled_in_the_future_stays_a_draft(client, draft):
    revision = schedule(draft, timezone.now() + timedelta(hours=2))
    run_jobs()
    story = StoryPage.objects.get(pk=draft.pk)
    assert not story.live
    revision.refresh_from_db()
    assert revision.approved_go_live_at is not None
    assert client.get("/news/embargoed-report/").status_code == 404


def test_scheduled_change_to_a_live_story_replaces_the_live_version(client, news):
    story = StoryPageFactory(parent=news, title="First headline", slug="changing-story")
    story.save_revision().publish()
    schedule(story, timezone.now() - timedelta(minutes=1), title="Corrected headline")
    assert "First headline" in client.get("/news/changing-story/").content.decode()

    run_jobs()

    assert StoryPage.objects.get(pk=story.pk).title == "Corrected headline"
    assert "Corrected headline" in client.get("/news/changing-story/").content.decode()


def test_scheduled_story_appears_in_the_feed_once_live(client, draft):
    schedule(draft, timezone.now() - timedelta(minutes=5))
    assert b"Embargoed report" not in client.get("/feeds/rss/").content
    run_jobs()
    assert b"Embargoed report" in client.get("/feeds/rss/").content
