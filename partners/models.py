"""Partners: outlets the newsroom knows, with their sites, contacts, terms and the key of their feeds.

A partner's key is shown once, when it is issued (`partners add`, `partners rekey`); only its SHA-256 is kept,
so a leaked database does not hand out feeds. Copies seen on a partner's hosts, or counted by the pixel of its
feed (tracking's `partner:<id>` copies), are the partner's (`Partner.copies`).
"""

import hashlib
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.models import Orderable

from republish.models import partner_host
from tracking.api import Copy

KEY_BYTES = 24  # 32 URL-safe characters


def hash_key(key):
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


class PartnerQuerySet(models.QuerySet):
    def with_key(self, key):
        """The partner whose feeds `key` opens: active ones only. Paused, ended and revoked keys open nothing."""
        if not key or len(key) > 100:
            return None
        return self.filter(key_hash=hash_key(key), status=Partner.ACTIVE).first()

    def owners(self):
        """A function `owner(url, host)` telling which of these partners runs a copy (its `url` and `host` as
        tracking's Copy holds them): the one whose site it is on (with or without www., as `Partner.hosts`),
        or whose feed's pixel counted it (`Copy.partner_page`); else None. One query for all of them, so that
        many copies are told apart in memory. A host two partners claim goes to the first by name."""
        by_host, by_page = {}, {}
        for partner in self.prefetch_related("sites").order_by("name"):
            for host in sorted(partner.hosts()):
                by_host.setdefault(host, partner)
            by_page[Copy.partner_page(partner.pk)] = partner

        def owner(url, host):
            return by_host.get(host) if host else by_page.get(url)

        return owner

    def for_host(self, host):
        host = partner_host(host)
        bare = host.removeprefix("www.")
        return self.filter(sites__host__in={bare, f"www.{bare}"}).first()


class Partner(ClusterableModel):
    ACTIVE, PAUSED, ENDED = "active", "paused", "ended"
    STATUS_CHOICES = [(ACTIVE, "Active"), (PAUSED, "Paused"), (ENDED, "Ended")]

    name = models.CharField(max_length=200, unique=True, help_text="The outlet's name.")
    status = models.CharField(max_length=8, choices=STATUS_CHOICES, default=ACTIVE,
                              help_text="Only active partners' keys open their feeds.")
    key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    key_hint = models.CharField(max_length=8, blank=True, editable=False,
                                help_text="The key's first characters, to tell keys apart.")
    webhook_url = models.URLField(blank=True, help_text="Where Byline posts news of the stories it republishes.")
    webhook_secret = models.CharField(max_length=64, blank=True, editable=False)
    terms_license = models.CharField(max_length=100, blank=True, verbose_name="licence accepted")
    terms_version = models.CharField(max_length=50, blank=True, verbose_name="policy version accepted")
    terms_accepted_on = models.DateField(null=True, blank=True, verbose_name="terms accepted on")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_feed_fetch = models.DateTimeField(null=True, blank=True, editable=False)
    feed_fetches = models.PositiveIntegerField(default=0, editable=False)

    objects = PartnerQuerySet.as_manager()

    panels = [
        FieldPanel("name"), FieldPanel("status"),
        InlinePanel("sites", heading="Sites", label="Site"),
        InlinePanel("contacts", heading="Contacts", label="Contact"),
        FieldPanel("webhook_url"),
        MultiFieldPanel([FieldRowPanel([FieldPanel("terms_license"), FieldPanel("terms_version"),
                                        FieldPanel("terms_accepted_on")])], heading="Terms accepted"),
        FieldPanel("notes"),
    ]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def issue_key(self):
        """A new key (the old one stops working at once), returned once and never stored."""
        key = secrets.token_urlsafe(KEY_BYTES)
        self.key_hash, self.key_hint = hash_key(key), key[:6]
        if not self.webhook_secret:
            self.webhook_secret = secrets.token_hex(32)
        self.save()
        return key

    def revoke(self):
        self.key_hash, self.key_hint = None, ""
        self.save(update_fields=["key_hash", "key_hint"])

    @property
    def has_key(self):
        return bool(self.key_hash)

    def hosts(self):
        hosts = set()
        for site in self.sites.all():
            bare = site.host.removeprefix("www.")
            hosts |= {bare, f"www.{bare}"}
        return hosts

    def copies(self):
        """Copies of our stories on this partner's sites, and those its feed's pixel counted without an address."""
        return Copy.objects.filter(Q(host__in=self.hosts()) | Q(url=Copy.partner_page(self.pk)))


class PartnerSite(Orderable):
    partner = ParentalKey(Partner, related_name="sites", on_delete=models.CASCADE)
    host = models.CharField(max_length=255, unique=True, help_text="The site's host, e.g. news.example.org.")

    panels = [FieldPanel("host")]

    def save(self, *args, **kwargs):
        self.host = partner_host(self.host)
        super().save(*args, **kwargs)

    def __str__(self):
        return self.host


class PartnerContact(Orderable):
    partner = ParentalKey(Partner, related_name="contacts", on_delete=models.CASCADE)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField()

    panels = [FieldRowPanel([FieldPanel("name"), FieldPanel("email")])]

    def __str__(self):
        return f"{self.name} <{self.email}>" if self.name else self.email


class FeedEntry(models.Model):
    """A story as partners' feeds have offered it, kept after it stops being eligible: the ninjs feed then
    lists it as withdrawn (pubstatus canceled) for partners asking what changed `?since=`. Kept up to date by
    `partners.feeds.refresh` whenever the feeds are built (after every purge)."""

    story_id = models.BigIntegerField(unique=True)
    uri = models.CharField(max_length=255, blank=True,
                           help_text="The story's id in the feeds (tag:host,year:story/id), fixed when first offered.")
    title = models.CharField(max_length=255, blank=True, help_text="The headline last offered.")
    first_offered = models.DateTimeField()
    updated = models.DateTimeField(help_text="When the story, its corrections or its eligibility last changed.")
    version = models.PositiveIntegerField(default=1, help_text="Counts the changes partners were offered.")
    fingerprint = models.CharField(max_length=64, help_text="A hash of what the feed carries of the story.")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="Why it was withdrawn.")

    class Meta:
        verbose_name_plural = "feed entries"
        indexes = [models.Index(fields=["updated"])]
