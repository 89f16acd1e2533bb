import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting


class WireItem(models.Model):
    """One ninjs item we have imported. Its identity is (agency, uri): a uri is an agency's name for its item,
    so two agencies may use the same one, and an item is only ever updated or withdrawn by its own agency."""

    TEXT, PICTURE = "text", "picture"
    KIND_CHOICES = [(TEXT, "Text"), (PICTURE, "Picture")]

    agency = models.ForeignKey(
        "stories.Origin", on_delete=models.PROTECT, related_name="+",
        help_text="Whose item this is: the pushing token's agency, or the agency import_ninjs named or read. "
                  "Its stories have this origin.",
    )
    uri = models.CharField(max_length=500)
    kind = models.CharField(max_length=10, choices=KIND_CHOICES)
    version = models.CharField(max_length=40, blank=True)
    version_created = models.DateTimeField(null=True, blank=True)
    pubstatus = models.CharField(max_length=20, blank=True)
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the item as received, keys sorted.")
    story = models.ForeignKey(
        "stories.StoryPage", null=True, blank=True, on_delete=models.SET_NULL, related_name="wire_items"
    )
    image = models.ForeignKey(
        settings.WAGTAILIMAGES_IMAGE_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=200, blank=True, help_text="The file or agency token it came from.")
    first_imported_at = models.DateTimeField(default=timezone.now)
    last_imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_imported_at"]
        constraints = [models.UniqueConstraint(fields=["agency", "uri"], name="wire_item_agency_uri")]

    def __str__(self):
        return self.uri


class AgencyTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class AgencyToken(models.Model):
    """An agency's key to the push endpoint. Only a hash is kept: the token is shown once, when created.

    A token speaks for one agency, its `origin`: every item pushed with it is that agency's (identity and
    origin), whatever the item says, so a token can neither touch another agency's items nor choose an origin.
    """

    PREFIX = "bylw_"

    name = models.CharField(max_length=120, help_text="Who holds it, e.g. “JTA wire feed”.")
    origin = models.ForeignKey(
        "stories.Origin", on_delete=models.PROTECT, related_name="+", verbose_name="agency",
        help_text="The agency this token speaks for: items pushed with it are this agency's, and so is their origin.",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(
        max_length=12, editable=False, help_text="The token's first characters, to tell tokens apart (and revoke one)."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AgencyTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @staticmethod
    def hash(token):
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, *, name, origin, created_by=None):
        """A new token and its secret; the secret exists only in the return value."""
        secret = cls.PREFIX + secrets.token_urlsafe(32)
        # The hint names a token in `wire_token revoke HINT`, so it must name one only.
        while cls.objects.filter(hint=secret[:10]).exists():
            secret = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            name=name, origin=origin, created_by=created_by, token_hash=cls.hash(secret), hint=secret[:10]
        )
        return token, secret

    @classmethod
    def find(cls, secret):
        """The token a request presents, revoked or not (the caller tells the two apart), or None."""
        if not secret or len(secret) > 200:
            return None
        return cls.objects.select_related("origin").filter(token_hash=cls.hash(secret)).first()

    @property
    def is_active(self):
        return self.revoked_at is None

    def revoke(self):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


@register_setting(icon="doc-full")
class WireSettings(BaseSiteSetting):
    section = models.ForeignKey(
        "stories.SectionPage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Where imported wire stories go. Empty: the first section.",
    )
    publish_usable = models.BooleanField(
        default=False,
        help_text="Publish wire stories marked usable at once. Off: they wait as drafts for an editor "
                  "(import_ninjs --publish publishes anyway).",
    )

    panels = [FieldPanel("section"), FieldPanel("publish_usable")]

    class Meta:
        verbose_name = "Wire desk"
