"""Editors see every change, and per copy who was told, how, whether it was delivered and whether the copy
took it; copies with nobody to tell are listed with their address."""

import pytest

from corrections.models import Change, Message, Notice
from partners.models import Partner
from stories.factories import StoryPageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("editor", "editor@example.org", "pw"))
    return client


@pytest.fixture
def change(news):
    story = StoryPageFactory(parent=news, title="Harbor budget passes")
    change = Change.objects.create(story=story, kind=Change.CORRECTION, version=2, text="2026-11-21: Wednesday.",
                                   diff=[{"before": "On Tuesday.", "after": "On Wednesday."}])
    gazette = Partner.objects.create(name="Harbor Gazette")
    told = Notice.objects.create(change=change, copy_id=1, copy_url="https://harbor.example/budget/", partner=gazette,
                                 outcome=Notice.APPLIED)
    Message.objects.create(notice=told, channel=Message.EMAIL, recipient="desk@harbor.example", body="x",
                           idempotency_key="a" * 64, status=Message.SENT)
    Message.objects.create(notice=told, channel=Message.WEBHOOK, recipient="https://harbor.example/hook", body="{}",
                           idempotency_key="b" * 64, status=Message.FAILED, last_error="answered 500")
    Notice.objects.create(change=change, copy_id=2, copy_url="https://stranger.example/budget/")
    return change


def test_the_corrections_view_lists_changes_and_each_copy_with_who_was_told(editor, change):
    listing = editor.get("/admin/corrections/")
    assert listing.status_code == 200 and list(listing.context["changes"]) == [change]
    detail = editor.get(f"/admin/corrections/{change.pk}/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "Email to desk@harbor.example: Delivered" in html
    assert "Webhook to https://harbor.example/hook: Failed" in html and "answered 500" in html
    assert "Correction applied" in html
    assert "https://stranger.example/budget/" in html and "Nobody known" in html
    assert "On Tuesday." in html and "On Wednesday." in html


def test_the_story_republishing_tab_sums_up_its_corrections(editor, change):
    response = editor.get(f"/admin/pages/{change.story.pk}/edit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Corrections sent to republished copies" in html
    assert "Correction, version 2" in html and "2 copies" in html and "1 with nobody known to tell" in html


def test_editors_only(client, change):
    assert client.get("/admin/corrections/").status_code == 302
