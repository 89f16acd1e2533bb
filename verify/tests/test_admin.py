"""The Copies pages in the admin: per story, per republisher, one check's evidence and history, adding URLs
by hand, and "Check now"; and nothing for people who are not editors."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tracking.factories import CopyFactory
from verify.factories import ManualCopyFactory, VerificationFactory
from verify.models import ManualCopy, Verification

from .conftest import partner_page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("verify_settings")]


def text_of(response):
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "editor@example.org", "pw")
    client.force_login(user)
    return user


def checked(copy=None, manual=None, status=Verification.ISSUES, hours_ago=0, **fields):
    """A check of `copy` or `manual` made `hours_ago`; with issues, the pixel is what failed."""
    fields.setdefault("failing", ["pixel"] if status == Verification.ISSUES else [])
    fields.setdefault("checks", {"pixel": {"ok": status != Verification.ISSUES, "summary": "No pixel",
                                           "evidence": {"pixels": [], "commented_out": []}}})
    return VerificationFactory(copy=copy, manual=manual, status=status,
                               checked_at=timezone.now() - timedelta(hours=hours_ago), **fields)


@pytest.fixture
def known(story):
    gazette = CopyFactory(story=story, url="https://gazette.example/2026/harbor")
    courier = CopyFactory(story=story, url="https://courier.example/harbor-budget")
    suspected = ManualCopyFactory(story=story, url="https://scraper.example/copy-of-harbor")
    checked(copy=gazette, status=Verification.COMPLIANT, hours_ago=30, similarity=1.0)
    latest = checked(copy=gazette, status=Verification.ISSUES, similarity=0.93)
    checked(copy=courier, status=Verification.REMOVED, http_status=410, error="the page answers 410", checks={},
            failing=[])
    return {"gazette": gazette, "courier": courier, "suspected": suspected, "latest": latest}


def test_the_overview_counts_copies_by_latest_status_per_story_and_republisher(client, editor, story, known):
    response = client.get(reverse("verify_copies:overview"))
    assert response.status_code == 200
    text = text_of(response)
    assert "1 with issues 1 removed 0 unreachable 0 compliant 1 not checked yet" in text
    assert "checked again on a schedule (every 24 hours)" in text
    assert "Council passes the harbor budget 1 1 0 0 1" in text
    assert "gazette.example 1 0 0 0 0" in text and "scraper.example 0 0 0 0 1" in text
    assert f'href="/admin/copies/stories/{story.pk}/"' in response.content.decode()


def test_a_storys_page_lists_each_copy_with_its_latest_check(client, editor, story, known):
    response = client.get(reverse("verify_copies:story", args=[story.pk]))
    text = text_of(response)
    assert "Copies of “Council passes the harbor budget”" in text
    assert ("https://gazette.example/2026/harbor seen through the pixel gazette.example Issues No pixel 93%") in text
    assert ("https://courier.example/harbor-budget seen through the pixel courier.example Removed the page answers 410"
            in text)
    assert "https://scraper.example/copy-of-harbor added by an editor scraper.example Not checked yet" in text
    assert (text.index("gazette.example/2026") < text.index("courier.example/harbor")
            < text.index("scraper.example/copy"))


def test_a_republishers_page_lists_its_copies_of_every_story(client, editor, story, known):
    response = client.get(reverse("verify_copies:republisher", args=["gazette.example"]))
    assert "https://gazette.example/2026/harbor" in text_of(response)
    assert "courier.example/harbor" not in text_of(response)
    assert client.get(reverse("verify_copies:republisher", args=["nobody.example"])).status_code == 404


def test_a_check_shows_its_evidence_and_the_copys_history(client, editor, story, known):
    latest = known["latest"]
    latest.checks = {
        "text": {"ok": False, "summary": "Text altered: 1 paragraph changed (similarity 93%)", "evidence": {
            "similarity": 0.93, "missing": [], "added": [], "moved": [], "truncated": None,
            "additional_reporting": None, "after_credit": ["Become a member today."], "ignored": [],
            "changed": [{"index": 5, "original": "the vote was a turning point", "copy": "the vote was a disaster",
                         "diff": "", "changes": []}]}},
        "links": {"ok": False, "summary": "1 of 3 links missing", "evidence": {"expected": 3, "missing": ["https://example.org/channel"]}},
    }
    latest.failing = ["links", "text"]
    latest.save()
    response = client.get(reverse("verify_copies:verification", args=[latest.pk]))
    html = response.content.decode()
    assert "the vote was a <del>turning point</del> <ins>disaster</ins>" in html
    assert '<li class="copies-url">https://example.org/channel</li>' in html
    assert "Not judged: “Become a member today.” (after our credit line)." in text_of(response)
    history = text_of(response).split("History of this copy")[1]
    assert re.findall(r"(Issues|Compliant)", history) == ["Issues", "Compliant"]
    assert "(this check)" in history


def test_check_now_verifies_the_storys_copies(client, editor, partner, story, handout):
    copy = CopyFactory(story=story, url=partner.html("/harbor/", partner_page(handout)))
    response = client.post(reverse("verify_copies:story", args=[story.pk]), follow=True)
    assert "Checked 1 copy." in text_of(response)
    assert copy.verifications.get().status == Verification.COMPLIANT
    response = client.post(reverse("verify_copies:verification", args=[copy.verifications.get().pk]))
    assert copy.verifications.count() == 2
    assert response.url == reverse("verify_copies:verification", args=[copy.verifications.first().pk])


def test_editors_add_urls_to_verify_in_the_admin(client, editor, story):
    add = reverse(ManualCopy.snippet_viewset.get_url_name("add"))
    response = client.post(add, {"story": story.pk, "url": "https://scraper.example/harbor",
                                 "note": "Seen on social media"})
    assert response.status_code == 302
    manual = ManualCopy.objects.get()
    assert (manual.story, manual.url, manual.note) == (story, "https://scraper.example/harbor", "Seen on social media")
    rejected = client.post(add, {"story": story.pk, "url": "https://scraper.example", "note": ""})
    assert "Give the address of the page itself, not only the site." in rejected.content.decode()
    assert "Copies" in client.get(reverse("wagtailadmin_home")).content.decode()


def test_the_story_editor_has_a_copies_button(client, editor, story):
    html = client.get(reverse("wagtailadmin_pages:edit", args=[story.pk])).content.decode()
    assert reverse("verify_copies:story", args=[story.pk]) in html


def test_nobody_else_sees_the_copies(client, django_user_model, story, known):
    urls = [reverse("verify_copies:overview"), reverse("verify_copies:story", args=[story.pk]),
            reverse("verify_copies:verification", args=[known["latest"].pk])]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/admin/login/")
    client.force_login(django_user_model.objects.create_user("reader", "reader@example.org", "pw"))
    for url in urls:
        assert client.get(url).status_code in (302, 403)
    assert client.post(urls[1]).status_code in (302, 403)
    assert Verification.objects.count() == 3


def test_hostile_urls_and_evidence_are_printed_as_text(client, editor, story):
    copy = CopyFactory(story=story, url='https://evil.example/"><script>alert(1)</script>')
    check = checked(copy=copy,
                    checks={"pixel": {"ok": False, "summary": "<img src=x onerror=alert(2)>", "evidence": {}}})
    for url in (reverse("verify_copies:story", args=[story.pk]),
                reverse("verify_copies:verification", args=[check.pk])):
        html = client.get(url).content.decode()
        assert "<script>alert(1)" not in html and "<img src=x onerror" not in html
        assert "&lt;script&gt;alert(1)" in html
