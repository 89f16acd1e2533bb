"""`manage.py verify_copies`: which copies it checks and what it prints; and the schedule,
`manage.py verify_due_copies`."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from stories.factories import StoryPageFactory
from tracking.factories import CopyFactory
from tracking.models import Copy
from verify.factories import VerificationFactory
from verify.models import ManualCopy, Verification
from verify.runner import due_targets, forget_old_evidence, targets
from verify.tasks import verify_copy

from .conftest import partner_page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("verify_settings")]


def run(*args, command="verify_copies"):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def copy_of(story, url, **dates):
    return CopyFactory(story=story, url=url, **dates)


@pytest.fixture
def copies(partner, story, handout):
    """Two pages of one partner: one faithful, one that lost its pixel; plus copies that are not pages: our
    site, and the partner's origin (its page is looked for in the site's feeds and sitemaps, verify.discover)."""
    good = copy_of(story, partner.html("/good/", partner_page(handout)))
    without_pixel = handout.html.replace(handout.pixel_url, "")
    bad = copy_of(story, partner.html("/bad/", partner_page(handout, article=without_pixel)))
    copy_of(story, Copy.OUR_SITE)
    copy_of(story, partner.url("").rstrip("/"))  # only the partner's origin was known
    return good, bad


def test_only_full_urls_of_partner_pages_are_verified(copies, story):
    good, bad = copies
    assert [target.key for target in targets()] == [f"copy:{good.pk}", f"copy:{bad.pk}"]


def test_json_gives_one_object_per_copy_with_status_and_each_check(copies, partner, story):
    good, bad = copies
    out, _ = run("--json")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(line["copy"], line["status"], line["failing"]) for line in lines] == [
        (f"copy:{good.pk}", "compliant", []), (f"copy:{bad.pk}", "issues", ["pixel"])]
    assert set(lines[0]["checks"]) == {"permission", "pixel", "credit", "links", "canonical", "noindex", "images",
                                       "headline", "text"}
    assert lines[1]["checks"]["pixel"] == {"ok": False, "summary": "No pixel",
                                           "evidence": {"pixels": [], "commented_out": []}}
    assert lines[0]["story"] == story.pk and lines[0]["url"] == good.url and lines[0]["similarity"] == 1.0
    assert Verification.objects.count() == 2
    assert partner.paths() == ["/good/", "/bad/"]


def test_text_output_lists_what_is_wrong_and_the_progress_goes_to_stderr(copies, story, partner):
    good, bad = copies
    out, err = run("--story", str(story.pk))
    assert out.splitlines() == [
        f"compliant    {good.url} (story {story.pk}) similarity 100%",
        f"issues       {bad.url} (story {story.pk}) similarity 100%",
        "    - No pixel",
        "Verified 1 compliant, 1 issues.",
    ]
    origin = partner.url("").rstrip("/")
    assert err.splitlines() == [
        f"not found    {origin} (story {story.pk}): No page with the story and its pixel. Read: no feed or sitemap "
        "answered.",
        f"[1/2] compliant {good.url}", f"[2/2] issues {bad.url}"]


def test_one_url_can_be_checked(copies):
    _good, bad = copies
    out, _ = run("--url", bad.url, "--json")
    assert [json.loads(line)["copy"] for line in out.splitlines()] == [f"copy:{bad.pk}"]


def test_a_new_url_with_a_story_is_kept_as_a_url_to_verify(partner, story, handout):
    url = partner.html("/suspected/", partner_page(handout))
    out, _ = run("--story", str(story.pk), "--url", url, "--json")
    (manual,) = ManualCopy.objects.all()
    assert (manual.story_id, manual.url, manual.note) == (story.pk, url, "Added from the command line.")
    assert json.loads(out)["copy"] == f"manual:{manual.pk}"
    run("--story", str(story.pk), "--url", url)
    assert ManualCopy.objects.count() == 1 and manual.verifications.count() == 2  # history kept


def test_bad_requests_are_explained(story):
    with pytest.raises(CommandError, match="No story with id 999999"):
        run("--story", "999999")
    with pytest.raises(CommandError, match="No known copy has the URL https://x.example/a; add --story ID"):
        run("--url", "https://x.example/a")
    with pytest.raises(CommandError, match="Give the full http or https address of the page"):
        run("--story", str(story.pk), "--url", "ftp://x.example/a")
    with pytest.raises(CommandError, match=f"No copy to verify for story {story.pk}"):
        run("--story", str(story.pk))


def test_copies_of_deleted_stories_are_skipped(partner, news):
    gone = StoryPageFactory(parent=news)
    copy_of(gone, partner.html("/orphan/", "<p>x</p>"))
    gone.delete()
    out, _ = run("--json")
    assert json.loads(out)["status"] == "skipped"
    assert partner.requests == [] and Verification.objects.count() == 0


def test_due_copies_are_those_never_checked_or_checked_too_long_ago(copies, story, settings):
    good, bad = copies
    settings.VERIFY_INTERVAL_HOURS = 24
    VerificationFactory(copy=good, status="compliant", checked_at=timezone.now() - timedelta(hours=2))
    assert [t.key for t in due_targets()] == [f"copy:{bad.pk}"]
    VerificationFactory(copy=bad, status="issues", checked_at=timezone.now() - timedelta(hours=30))
    assert [t.key for t in due_targets()] == [f"copy:{bad.pk}"]
    tomorrow = timezone.now() + timedelta(hours=23)
    assert [t.key for t in due_targets(now=tomorrow)] == [f"copy:{bad.pk}", f"copy:{good.pk}"]


def test_the_scheduled_run_checks_due_copies_as_background_tasks_within_its_limit(copies, partner):
    good, bad = copies
    out, _ = run("--limit", "1", command="verify_due_copies")
    assert out == "Enqueued 1 copies; 1 checked already.\n"  # django-tasks' immediate backend runs it at once
    assert [v.copy_id for v in Verification.objects.all()] == [good.pk]
    run(command="verify_due_copies")
    assert sorted(v.copy_id for v in Verification.objects.all()) == [good.pk, bad.pk]
    out, _ = run(command="verify_due_copies")
    assert out == "Enqueued 0 copies; 0 checked already.\n"


def test_the_task_checks_one_copy(copies):
    good, _ = copies
    result = verify_copy.enqueue(f"copy:{good.pk}")
    assert result.status == "SUCCESSFUL"
    assert result.return_value == {"id": Verification.objects.get().pk, "status": "compliant"}
    assert verify_copy.enqueue("copy:0").return_value is None


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_the_progress_is_a_bar(copies):
    good, bad = copies
    err = Terminal()
    call_command("verify_copies", stdout=io.StringIO(), stderr=err)
    frames = err.getvalue().split("\r")[1:]
    assert frames[0].startswith("[" + "#" * 15 + "." * 15 + "] 1/2 compliant   " + good.url)
    assert frames[1].startswith("[" + "#" * 30 + "] 2/2 issues      " + bad.url)
    assert err.getvalue().endswith("\n")


def test_old_checks_keep_their_verdict_but_lose_their_evidence(story, settings):
    settings.VERIFY_EVIDENCE_DAYS = 90
    now = timezone.now()
    copy = copy_of(story, "https://partner.example/harbor")
    checks = {"pixel": {"ok": False, "summary": "No pixel", "evidence": {"pixels": [], "commented_out": ["x"]}}}

    def check(days_ago):
        return VerificationFactory(copy=copy, status="issues", failing=["pixel"], checks=checks, similarity=0.9,
                                   checked_at=now - timedelta(days=days_ago))

    old, recent, latest = check(200), check(10), check(0)
    out, _ = run(command="verify_due_copies")  # nothing is due: the copy was just checked
    assert out == "Enqueued 0 copies; 0 checked already.\nDropped the evidence of 1 old checks.\n"
    for verification in (old, recent, latest):
        verification.refresh_from_db()
    assert old.checks == {"pixel": {"ok": False, "summary": "No pixel", "evidence": {}}}
    assert (old.status, old.failing, old.similarity, old.evidence_kept) == ("issues", ["pixel"], 0.9, False)
    assert recent.checks == latest.checks == checks and recent.evidence_kept and latest.evidence_kept


def test_a_copys_latest_check_keeps_its_evidence_however_old(story):
    copy = copy_of(story, "https://partner.example/harbor")
    latest = VerificationFactory(copy=copy, status="compliant",
                                 checks={"text": {"ok": True, "evidence": {"similarity": 1}}},
                                 checked_at=timezone.now() - timedelta(days=400))
    assert forget_old_evidence() == 0
    latest.refresh_from_db()
    assert latest.evidence_kept and latest.checks["text"]["evidence"] == {"similarity": 1}
