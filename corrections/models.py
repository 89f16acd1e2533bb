"""Corrections and substantive updates that must reach every live copy of a story.

    Change   an editor published a dated correction, or an update marked substantive: its words, and the
             paragraphs that changed between the two published revisions
    Notice   one copy of the story that must hear of one change: the partner that runs it (or nobody
             known), and whether the copy took the change when it was checked again
    Message  the durable outbox: one email or webhook post of a notice (or a reminder), sent by the job
             runner, retried with backoff for a day, never sent twice by us (each has an idempotency key)
"""

from django.db import models
from django.utils import timezone

from partners.models import Partner
from stories.models import StoryPage


class Change(models.Model):
    CORRECTION, UPDATE = "correction", "update"
    KIND_CHOICES = [(CORRECTION, "Correction"), (UPDATE, "Substantive update")]

    story = models.ForeignKey(StoryPage, on_delete=models.CASCADE, related_name="published_changes")
    kind = models.CharField(max_length=12, choices=KIND_CHOICES)
    text = models.TextField(help_text="The correction, or the editor's note on the update (plain text).")
    diff = models.JSONField(default=list, help_text="Paragraphs removed, added or changed: "
                                                    '[{"before": ..., "after": ...}], "" where there was none.')
    version = models.PositiveIntegerField(help_text="The story's version after this change (1 is the first).")
    before_revision_id = models.BigIntegerField(null=True, blank=True)
    after_revision_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When its copies got their notices (the send_notices job); empty until then.")

    class Meta:
        ordering = ["story_id", "version", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} to “{self.story.title}” (version {self.version})"


class Notice(models.Model):
    UNCHECKED, APPLIED, NOT_APPLIED, CHANGED, GONE = "unchecked", "applied", "not-applied", "changed", "gone"
    OUTCOME_CHOICES = [(UNCHECKED, "Not checked yet"), (APPLIED, "Correction applied"),
                       (NOT_APPLIED, "Not yet applied"), (CHANGED, "Copy changed otherwise"), (GONE, "Copy gone")]

    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="notices")
    copy_id = models.BigIntegerField(help_text="The tracking copy (tracking.api.Copy).")
    copy_url = models.CharField(max_length=500)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=12, choices=OUTCOME_CHOICES, default=UNCHECKED)
    outcome_note = models.CharField(max_length=1000, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["change", "copy_id"], name="notice_once_per_copy")]

    @property
    def nobody_to_tell(self):
        return self.partner_id is None


class Message(models.Model):
    EMAIL, WEBHOOK = "email", "webhook"
    NOTICE, REMINDER = "notice", "reminder"
    PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
    STATUS_CHOICES = [(PENDING, "Waiting"), (SENDING, "Sending"), (SENT, "Delivered"), (FAILED, "Failed")]

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=8, choices=[(EMAIL, "Email"), (WEBHOOK, "Webhook")])
    purpose = models.CharField(max_length=8, choices=[(NOTICE, "Notice"), (REMINDER, "Reminder")], default=NOTICE)
    recipient = models.CharField(max_length=500, help_text="Email addresses (comma-separated) or the webhook URL.")
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(help_text="The email's text, or the webhook's JSON body exactly as signed and sent.")
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=8, choices=STATUS_CHOICES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
