"""Verifying republished copies: the URLs editors add by hand, and every check ever made (history kept).

What gets checked: each copy the pixel revealed (`tracking.Copy`) with a full URL, and each `ManualCopy`.
Each check of one copy is a `Verification`: its status, each check's result and evidence, the similarity of
the copy's text to ours, and when it was made. The newest one per copy is the copy's current state.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from wagtail.admin.panels import FieldPanel

from tracking.api import host_of, normalize


class ManualCopy(models.Model):
    """A page an editor wants checked against a story: a copy the pixel did not reveal (the partner dropped
    it, or never had it), or a suspected copy of a story that may not be republished at all."""

    story = models.ForeignKey("stories.StoryPage", on_delete=models.CASCADE, related_name="+",
                              help_text="The story the page is a copy of.")
    url = models.URLField(max_length=500, verbose_name="URL", help_text="The full address of the partner's page.")
    note = models.CharField(max_length=300, blank=True, help_text="Why it is checked; for other editors.")
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    panels = [FieldPanel("story"), FieldPanel("url"), FieldPanel("note")]

    class Meta:
        verbose_name = "URL to verify"
        verbose_name_plural = "URLs to verify"
        ordering = ["-added_at"]
        constraints = [models.UniqueConstraint(fields=["story", "url"], name="manualcopy_unique_per_story")]

    def __str__(self):
        return self.url

    @property
    def host(self):
        return host_of(self.url)

    def clean(self):
        super().clean()
        normalized = normalize(self.url or "")
        if self.url and not normalized:
            raise ValidationError({"url": "Only http and https addresses can be checked."})
        if normalized and "/" not in normalized.split("://", 1)[1]:
            raise ValidationError({"url": "Give the address of the page itself, not only the site."})


class Verification(models.Model):
    COMPLIANT, ISSUES, UNREACHABLE, REMOVED = "compliant", "issues", "unreachable", "removed"
    STATUS_CHOICES = [
        (COMPLIANT, "Compliant"), (ISSUES, "Issues"), (UNREACHABLE, "Unreachable"), (REMOVED, "Removed"),
    ]

    copy = models.ForeignKey("tracking.Copy", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="verifications")
    manual = models.ForeignKey(ManualCopy, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="verifications")
    story_id = models.BigIntegerField()
    url = models.CharField(max_length=500)
    host = models.CharField(max_length=255, help_text="The republisher: the copy's host name.")
    final_url = models.CharField(max_length=2000, blank=True, help_text="Where redirects led.")
    status = models.CharField(max_length=12, choices=STATUS_CHOICES)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    failing = models.JSONField(default=list, help_text="Names of the checks that failed.")
    checks = models.JSONField(default=dict, help_text="Per check: ok, summary, evidence.")
    similarity = models.FloatField(null=True, blank=True, help_text="0 to 1: the copy's text against ours.")
    error = models.CharField(max_length=500, blank=True, help_text="Why the page could not be read.")
    checked_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    evidence_kept = models.BooleanField(
        default=True, help_text="False once an old check's evidence was dropped (VERIFY_EVIDENCE_DAYS).")

    class Meta:
        ordering = ["-checked_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(copy__isnull=False, manual__isnull=True) | Q(copy__isnull=True, manual__isnull=False),
                name="verification_of_one_copy",
            ),
        ]
        indexes = [
            models.Index(fields=["story_id", "checked_at"]),
            models.Index(fields=["host", "checked_at"]),
            models.Index(fields=["copy", "checked_at"]),
            models.Index(fields=["manual", "checked_at"]),
        ]

    def __str__(self):
        return f"{self.url}: {self.status} ({self.checked_at:%Y-%m-%d %H:%M})"

    @property
    def target_key(self):
        return f"copy:{self.copy_id}" if self.copy_id else f"manual:{self.manual_id}"

    @property
    def problems(self):
        """The summaries of the failed checks, for lists."""
        return [self.checks.get(name, {}).get("summary", name) for name in self.failing]

    def as_json(self):
        return {
            "story": self.story_id,
            "copy": self.target_key,
            "url": self.url,
            "final_url": self.final_url,
            "host": self.host,
            "status": self.status,
            "http_status": self.http_status,
            "similarity": self.similarity,
            "failing": self.failing,
            "checks": self.checks,
            "error": self.error,
            "checked_at": self.checked_at.isoformat(),
        }
