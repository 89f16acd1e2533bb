"""Which copies to verify, and verifying one: fetch safely, run the checks, keep the result.

A *target* is one page to check against one story: a `tracking.Copy` with a full URL (a copy known from
pixel hits; our own site and origin-only copies cannot be fetched as a page) or a `ManualCopy`.
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from byline.fetch import Fetcher, FetchError
from republish.eligibility import is_republishable
from republish.models import RepublishingPolicy
from stories.models import StoryPage
from tracking.api import Copy, host_of, is_partner_preview, normalize

from .checks import run_checks
from .models import ManualCopy, Verification
from .original import original_for
from .page import CopyPage, decode

HTML_TYPES = ("text/html", "application/xhtml+xml", "")


@dataclass(frozen=True)
class Target:
    kind: str  # "copy" or "manual"
    id: int
    story_id: int
    url: str
    since: object  # when the copy was first seen (or added by hand): permission is judged at that time

    @property
    def key(self):
        return f"{self.kind}:{self.id}"

    @property
    def host(self):
        return host_of(self.url)

    def filter(self):
        return {"copy_id": self.id} if self.kind == "copy" else {"manual_id": self.id}


def is_page_url(url):
    """A copy we can fetch: a web address with a path (not an origin, not our site, not a CMS preview)."""
    normalized = normalize(url)
    return bool(normalized) and "/" in normalized.split("://", 1)[1] and not is_partner_preview(url)


def copy_target(copy):
    """The copy's page: where hits named it, or where Byline found it (verify.discover)."""
    return Target("copy", copy.pk, copy.story_id, copy.address, copy.first_seen)


def page_targets(copies):
    """Targets of the copies with a page to fetch; a page found by Byline that hits also named is checked once."""
    copies = list(copies)
    found = [copy.found_url for copy in copies if copy.found_url]
    named = set(Copy.objects.filter(url__in=found).values_list("story_id", "url")) if found else set()
    return [copy for copy in copies if is_page_url(copy.address)
            and not (copy.found_url and (copy.story_id, copy.found_url) in named)]


def manual_target(manual):
    return Target("manual", manual.pk, manual.story_id, manual.url, manual.added_at)


def targets(story_id=None, url=None):
    """Every page to verify, optionally only one story's or only those at `url`, oldest story first."""
    copies = Copy.objects.exclude(url=Copy.OUR_SITE).filter(Q(url__startswith="http://") | Q(url__startswith="https://"))
    manuals = ManualCopy.objects.all()
    if story_id is not None:
        copies, manuals = copies.filter(story_id=story_id), manuals.filter(story_id=story_id)
    if url is not None:
        wanted = normalize(url) or url
        copies, manuals = copies.filter(Q(url=wanted) | Q(found_url=wanted)), manuals.filter(url__in={url, wanted})
    found = [copy_target(copy) for copy in page_targets(copies.order_by("story_id", "pk"))]
    found += [manual_target(manual) for manual in manuals.order_by("story_id", "pk")]
    return found


def due_targets(hours=None, limit=None, now=None):
    """Targets never verified, or last verified more than `hours` ago (VERIFY_INTERVAL_HOURS, default 24):
    the longest waiting first."""
    hours = hours if hours is not None else float(getattr(settings, "VERIFY_INTERVAL_HOURS", 24))
    cutoff = (now or timezone.now()) - timedelta(hours=hours)
    last = Verification.objects.values("checked_at").order_by("-checked_at")
    copies = (Copy.objects.exclude(url=Copy.OUR_SITE)
              .filter(Q(url__startswith="http://") | Q(url__startswith="https://"))
              .annotate(last=Subquery(last.filter(copy=OuterRef("pk"))[:1]))
              .filter(Q(last__isnull=True) | Q(last__lt=cutoff)))
    manuals = (ManualCopy.objects.annotate(last=Subquery(last.filter(manual=OuterRef("pk"))[:1]))
               .filter(Q(last__isnull=True) | Q(last__lt=cutoff)))
    waiting = [(copy.last, copy_target(copy)) for copy in page_targets(copies)]
    waiting += [(manual.last, manual_target(manual)) for manual in manuals]
    epoch = timezone.now() - timedelta(days=36500)
    waiting.sort(key=lambda pair: (pair[0] or epoch, pair[1].key))
    chosen = [target for _, target in waiting]
    return chosen[:limit] if limit else chosen


def target_from_key(key):
    kind, _, pk = key.partition(":")
    if kind == "copy":
        copy = Copy.objects.filter(pk=pk).first()
        return copy_target(copy) if copy else None
    if kind == "manual":
        manual = ManualCopy.objects.filter(pk=pk).first()
        return manual_target(manual) if manual else None
    return None


class Verifier:
    """Verifies targets, building each story's original once."""

    def __init__(self, fetcher=None):
        self.fetcher = fetcher or Fetcher()
        self.originals = {}

    def story_and_original(self, story_id):
        if story_id not in self.originals:
            story = StoryPage.objects.filter(pk=story_id).first()
            if story is None:
                self.originals[story_id] = (None, None, None)
            else:
                policy = RepublishingPolicy.for_site(story.get_site())
                self.originals[story_id] = (story, policy, original_for(story, policy))
        return self.originals[story_id]

    def verify(self, target):
        """Check `target` now and keep the result; None when its story no longer exists."""
        story, policy, original = self.story_and_original(target.story_id)
        if story is None:
            return None
        started = time.monotonic()
        result = Verification(story_id=target.story_id, url=target.url, host=target.host, checked_at=timezone.now(),
                              **target.filter())
        try:
            fetched = self.fetcher.get(target.url)
        except FetchError as error:
            result.status, result.error = Verification.UNREACHABLE, f"{error.kind}: {error.message}"[:500]
        else:
            result.final_url, result.http_status = fetched.final_url[:2000], fetched.status
            if fetched.status in (404, 410):
                result.status = Verification.REMOVED
                result.error = f"the page answers {fetched.status}"
            elif not 200 <= fetched.status < 300:  # errors, and redirects without a Location
                result.status, result.error = Verification.UNREACHABLE, f"the page answers {fetched.status}"
            elif fetched.content_type not in HTML_TYPES:
                result.status = Verification.UNREACHABLE
                result.error = f"the page is {fetched.content_type}, not HTML"
            else:
                page = CopyPage(decode(fetched.body, fetched.charset), fetched.final_url, fetched.headers)
                permission = is_republishable(story, policy, now=target.since or timezone.now())
                report = run_checks(original.for_site(policy.rules_for(target.host)), page, permission)
                result.status = Verification.COMPLIANT if report.compliant else Verification.ISSUES
                result.failing, result.checks = report.failing, report.as_json()
                result.similarity = report.similarity
        result.duration_ms = int((time.monotonic() - started) * 1000)
        result.save()
        return result


def verify_targets(chosen, fetcher=None, progress=None):
    """Verify each target in turn; `progress(index, total, target, verification)` after each."""
    verifier = Verifier(fetcher)
    results = []
    for index, target in enumerate(chosen, start=1):
        verification = verifier.verify(target)
        results.append((target, verification))
        if progress:
            progress(index, len(chosen), target, verification)
    return results


def latest(queryset=None):
    """The newest verification of each target (from `queryset`, default all)."""
    queryset = queryset if queryset is not None else Verification.objects.all()
    newest = queryset.order_by().values("copy_id", "manual_id").annotate(newest=Max("id")).values("newest")
    return Verification.objects.filter(id__in=Subquery(newest)).order_by("story_id", "host", "url")


def forget_old_evidence(days=None, now=None, batch=500):
    """Keep history small: checks older than VERIFY_EVIDENCE_DAYS (90) keep their status, failing checks,
    summaries and similarity, but lose their evidence, unless they are still a copy's latest check. At most
    `batch` rows per call (the schedule calls it every minute); the number of rows thinned."""
    days = days if days is not None else float(getattr(settings, "VERIFY_EVIDENCE_DAYS", 90))
    cutoff = (now or timezone.now()) - timedelta(days=days)
    newest = Verification.objects.order_by().values("copy_id", "manual_id").annotate(newest=Max("id")).values("newest")
    old = (Verification.objects.filter(checked_at__lt=cutoff, evidence_kept=True).exclude(id__in=Subquery(newest))
           .order_by("id")[:batch])
    thinned = 0
    for verification in old:
        checks = {name: {"ok": result.get("ok"), "summary": result.get("summary", ""), "evidence": {}}
                  for name, result in verification.checks.items()}
        Verification.objects.filter(pk=verification.pk).update(checks=checks, evidence_kept=False)
        thinned += 1
    return thinned
