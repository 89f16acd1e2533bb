"""Asking readers for support: the appeal that closes every story, the store promo and the free-to-read line.

Which appeal a story shows (see `appeals.selection`):

- `SupportSettings` (Settings → Support) holds the site's **evergreen appeal**, the master switch for the appeal
  slot, the store promo and the free-to-read line;
- an `Appeal` (Appeals → Campaigns and section appeals) is either a **campaign** (a start and an end time,
  site-wide or for some sections) or a **section appeal** (no dates, for the sections it names, replacing the
  evergreen appeal there). Each has one or more `AppealVariant`s ("versions"); readers are split evenly between
  them, deterministically per story and UTC day.

Views and clicks of every version are counted privately (`appeals.recording`, `appeals.counting`) into
`VariantCount` rows the Appeals dashboard reads. Version id 0 stands for the evergreen appeal of Settings.
"""


from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.forms import CheckboxSelectMultiple
from django.utils import timezone
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import RichTextField
from wagtail.models import Orderable, PreviewableMixin

from .shown import EVERGREEN, shown_from_variant, version_letter  # noqa: F401

MAX_VARIANTS = 6
http_or_https = URLValidator(schemes=["http", "https"], message="Enter an address starting with https:// or http://.")


@register_setting(icon="pick")
class SupportSettings(BaseSiteSetting):
    appeal_enabled = models.BooleanField(
        default=True,
        help_text="Show an appeal at the end of every story. Untick to hide every appeal, campaigns included.",
    )
    appeal_heading = models.CharField(max_length=200, default="Support independent journalism")
    appeal_message = RichTextField(features=["bold", "italic", "link"], blank=True)
    signature_name = models.CharField(max_length=120, blank=True, help_text="The publisher who signs the appeal.")
    signature_title = models.CharField(max_length=120, blank=True)
    button_label = models.CharField(max_length=60, default="Donate")
    button_url = models.URLField(blank=True, help_text="The outlet's donation platform.")

    free_to_read_enabled = models.BooleanField(default=True)
    free_to_read_line = models.CharField(
        max_length=300, default="Our stories are free to read and free to republish."
    )

    store_promo_enabled = models.BooleanField(default=False)
    store_promo_heading = models.CharField(max_length=200, blank=True)
    store_promo_text = models.TextField(blank=True)
    store_promo_label = models.CharField(max_length=60, blank=True)
    store_promo_url = models.URLField(blank=True)

    panels = [
        MultiFieldPanel(
            [
                FieldPanel("appeal_enabled"), FieldPanel("appeal_heading"), FieldPanel("appeal_message"),
                FieldPanel("signature_name"), FieldPanel("signature_title"),
                FieldPanel("button_label"), FieldPanel("button_url"),
            ],
            heading="Evergreen appeal closing every story",
            help_text="Shown whenever no campaign and no section appeal applies (Appeals → Campaigns and section "
                      "appeals).",
        ),
        MultiFieldPanel([FieldPanel("free_to_read_enabled"), FieldPanel("free_to_read_line")], heading="Free to read"),
        MultiFieldPanel(
            [
                FieldPanel("store_promo_enabled"), FieldPanel("store_promo_heading"), FieldPanel("store_promo_text"),
                FieldPanel("store_promo_label"), FieldPanel("store_promo_url"),
            ],
            heading="Store promo",
        ),
    ]

    class Meta:
        verbose_name = "Support"


class AppealForm(WagtailAdminModelForm):
    """The snippet editor's form: a section appeal (no dates) must name its sections."""

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if not starts_at and not ends_at and "sections" in self.fields and not cleaned.get("sections") \
                and not self.has_error("starts_at") and not self.has_error("ends_at"):
            self.add_error(
                "sections",
                "Tick the sections this appeal is for, or give it a start and an end to make it a campaign. "
                "The appeal for every section is the evergreen appeal in Settings → Support.",
            )
        return cleaned


class Appeal(PreviewableMixin, ClusterableModel):
    """A campaign (start and end) or a section appeal (no dates, some sections), in one or more versions."""

    name = models.CharField(max_length=120, help_text='For editors only, e.g. "Passover 2027".')
    live = models.BooleanField(default=True, help_text="Untick to pause it without deleting it.")
    starts_at = models.DateTimeField(
        "Starts", null=True, blank=True,
        help_text="Campaigns only: when it replaces the evergreen appeal. Leave both times empty for a section "
                  "appeal that always applies.",
    )
    ends_at = models.DateTimeField("Ends", null=True, blank=True, help_text="Campaigns only: when it stops.")
    sections = ParentalManyToManyField(
        "stories.SectionPage", blank=True, related_name="+",
        help_text="Only stories in these sections show it. None ticked: every section (campaigns only).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    base_form_class = AppealForm
    panels = [
        FieldPanel("name"),
        FieldPanel("live"),
        MultiFieldPanel(
            [FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at")])],
            heading="When",
            help_text="Times are in the newsroom's time zone (or the one your account sets). The change reaches "
                      "cached story pages within two minutes of each time.",
        ),
        FieldPanel("sections", widget=CheckboxSelectMultiple),
        InlinePanel(
            "variants", label="Version", min_num=1, max_num=MAX_VARIANTS,
            help_text="Two or more versions split readers evenly (per story and day) so you can compare them "
                      "in Appeals → Results.",
        ),
    ]

    class Meta:
        ordering = ["-starts_at", "name"]
        indexes = [models.Index(fields=["starts_at"]), models.Index(fields=["ends_at"])]

    def __str__(self):
        return self.name

    @property
    def is_campaign(self):
        return self.starts_at is not None

    @property
    def kind(self):
        return "Campaign" if self.is_campaign else "Section appeal"

    def is_running(self, now=None):
        now = now or timezone.now()
        if not self.live:
            return False
        if self.starts_at is None:
            return True
        return self.starts_at <= now < self.ends_at

    def status(self, now=None):
        now = now or timezone.now()
        if not self.live:
            return "Paused"
        if self.starts_at is None:
            return "Always on"
        if now < self.starts_at:
            return "Scheduled"
        if now >= self.ends_at:
            return "Ended"
        return "Running"

    def clean(self):
        super().clean()
        errors = {}
        if (self.starts_at is None) != (self.ends_at is None):
            missing = "ends_at" if self.ends_at is None else "starts_at"
            errors[missing] = "A campaign needs both a start and an end; a section appeal has neither."
        elif self.starts_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The end must come after the start."
        if errors:
            raise ValidationError(errors)

    def ordered_variants(self):
        return sorted(self.variants.all(), key=lambda v: (v.sort_order if v.sort_order is not None else 0, v.pk or 0))

    # Preview (the "Preview" panel of the snippet editor): every version as it closes a story.
    def get_preview_template(self, request, mode_name):
        return "appeals/preview.html"

    def get_preview_context(self, request, mode_name):
        context = super().get_preview_context(request, mode_name)
        variants = self.ordered_variants()
        context["versions"] = [shown_from_variant(self, variant, index) for index, variant in enumerate(variants)]
        context["sections"] = list(self.sections.all())
        return context


class AppealVariant(Orderable):
    """One version of an appeal: the words, the signature and the button."""

    appeal = ParentalKey(Appeal, related_name="variants", on_delete=models.CASCADE)
    note = models.CharField(
        max_length=120, blank=True, help_text='For editors only, e.g. "Urgent tone" or "Matching gift".'
    )
    heading = models.CharField(max_length=200)
    message = RichTextField(features=["bold", "italic", "link"], blank=True)
    signature_name = models.CharField(max_length=120, blank=True, help_text="Who signs it, e.g. the publisher.")
    signature_title = models.CharField(max_length=120, blank=True)
    button_label = models.CharField(max_length=60, default="Donate")
    button_url = models.URLField(
        validators=[http_or_https], help_text="The donation platform's page for this appeal (https://…)."
    )

    panels = [
        FieldPanel("note"), FieldPanel("heading"), FieldPanel("message"),
        FieldRowPanel([FieldPanel("signature_name"), FieldPanel("signature_title")]),
        FieldRowPanel([FieldPanel("button_label"), FieldPanel("button_url")]),
    ]

    class Meta(Orderable.Meta):
        verbose_name = "version"

    def __str__(self):
        return self.note or self.heading


class AppealEvent(models.Model):
    """One view (the appeal's beacon loaded) or click (its button followed) as received. No IP address, no user
    agent, no cookie: the day's visitor key only, as for pixel hits. Append-only; counted by `appeals.counting`."""

    VIEW, CLICK = "view", "click"

    id = models.BigAutoField(primary_key=True)
    received_at = models.DateTimeField()
    kind = models.CharField(max_length=5)
    variant_id = models.BigIntegerField()
    appeal_id = models.BigIntegerField(null=True, help_text="The version's appeal when it was received.")
    story_id = models.BigIntegerField(null=True)
    visitor = models.CharField(max_length=16, blank=True)
    filtered = models.CharField(max_length=24, blank=True, help_text="Why it was dropped; empty if it passed.")


class EventVisit(models.Model):
    """When a visitor last counted a view (or a click) of a version on a story, to drop repeats within 30
    minutes. Visitor keys change with the daily salt; rows older than two days are deleted."""

    visitor = models.CharField(max_length=16)
    variant_id = models.BigIntegerField()
    story_id = models.BigIntegerField()
    kind = models.CharField(max_length=5)
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visitor", "variant_id", "story_id", "kind"], name="appeal_visit_unique")
        ]
        indexes = [models.Index(fields=["last_at"])]


class VariantCount(models.Model):
    """Views and clicks per version and UTC hour: what the dashboard reads. Kept when a version is deleted."""

    variant_id = models.BigIntegerField()
    appeal_id = models.BigIntegerField()
    hour = models.DateTimeField()
    views = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["variant_id", "hour"], name="variant_count_unique")]
        indexes = [models.Index(fields=["hour"])]


class FilteredEvent(models.Model):
    """Views and clicks not counted, per hour, kind and reason."""

    hour = models.DateTimeField()
    kind = models.CharField(max_length=5)
    reason = models.CharField(max_length=24)
    events = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "kind", "reason"], name="filtered_event_unique")]


class BoundaryWatch(models.Model):
    """Up to when `appeals.switching` has looked for campaign starts and ends (one row)."""

    checked_until = models.DateTimeField()
