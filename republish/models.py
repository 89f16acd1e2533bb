"""The outlet's republishing policy: what partners read in the box, and the words of the credit lines."""

from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.functional import cached_property
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import RichTextField
from wagtail.models import Orderable

LICENSES = {
    "cc-by-4.0": ("CC BY 4.0", "https://creativecommons.org/licenses/by/4.0/"),
    "cc-by-sa-4.0": ("CC BY-SA 4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    "cc-by-nd-4.0": ("CC BY-ND 4.0", "https://creativecommons.org/licenses/by-nd/4.0/"),
    "cc-by-nc-4.0": ("CC BY-NC 4.0", "https://creativecommons.org/licenses/by-nc/4.0/"),
    "cc-by-nc-sa-4.0": ("CC BY-NC-SA 4.0", "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
    "cc-by-nc-nd-4.0": ("CC BY-NC-ND 4.0", "https://creativecommons.org/licenses/by-nc-nd/4.0/"),
    "none": ("", ""),
}
LICENSE_CHOICES = [
    (key, name or "No license: republishing by our permission only") for key, (name, _) in LICENSES.items()
]

DEFAULT_INTRODUCTION = (
    "<p>We want our reporting to reach as many readers as possible. Other outlets may republish our stories "
    "for free, online or in print, as long as they follow these guidelines.</p>"
)
DEFAULT_GUIDELINES = (
    "<ul>"
    "<li>Credit us: keep the byline and the credit lines that name our outlet and link to the original story.</li>"
    "<li>Keep our tracking image: it counts readers and stores no cookies or personal data.</li>"
    "<li>Keep our canonical link and add a noindex tag: paste the head snippet into your page's head.</li>"
    "<li>Do not edit the story beyond style, time and place references; keep every link.</li>"
    "<li>Images are not included: use your own, or ask us about rights.</li>"
    "</ul>"
)


@register_setting(icon="link-external")
class RepublishingPolicy(ClusterableModel, BaseSiteSetting):
    introduction = RichTextField(features=["bold", "italic", "link"], default=DEFAULT_INTRODUCTION)
    guidelines = RichTextField(features=["bold", "italic", "link", "ul", "ol"], default=DEFAULT_GUIDELINES)
    license = models.CharField(max_length=20, choices=LICENSE_CHOICES, default="cc-by-nd-4.0")
    top_credit = models.CharField(
        max_length=200, default="This story was originally published by {outlet}.",
        help_text="{outlet} becomes the outlet's name linking the original story.",
    )
    bottom_credit = models.CharField(
        max_length=300,
        default="This story was originally published by {outlet} and is republished here under {license}.",
        help_text="{outlet} links the original story; {license} links the license (or reads 'with permission').",
    )
    require_canonical = models.BooleanField(
        default=True, help_text="Ask partners for our canonical link in their head."
    )
    require_noindex = models.BooleanField(
        default=True, help_text="Ask partners to keep their copy out of search engines."
    )
    window_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days after publication a story may be republished; empty: no limit."
    )
    contact_email = models.EmailField(
        blank=True,
        help_text="Where partners write about republishing, e.g. to ask for an exception for their site. "
                  "Empty: the box names no address.",
    )

    ANYONE, PARTNERS = "anyone", "partners"
    audience = models.CharField(
        max_length=10, default=ANYONE,
        choices=[(ANYONE, "Anyone: every story page offers the handout"),
                 (PARTNERS, "Partners only: through their keyed feeds; the box tells others how to become one")],
        help_text="Who may republish our stories.",
    )
    wire_to_partners = models.BooleanField(
        default=False,
        help_text="Also send partners the wire stories whose agency allows them to travel. Unticked, partners' "
                  "feeds carry our own stories only.",
    )

    panels = [
        MultiFieldPanel([FieldPanel("audience"), FieldPanel("wire_to_partners")], heading="Who republishes"),
        FieldPanel("introduction"), FieldPanel("guidelines"), FieldPanel("license"),
        MultiFieldPanel([FieldPanel("top_credit"), FieldPanel("bottom_credit")], heading="Credit lines"),
        MultiFieldPanel([FieldPanel("require_canonical"), FieldPanel("require_noindex")], heading="Head snippet"),
        InlinePanel(
            "partner_sites", heading="Partner sites", label="Partner site",
            help_text="Exceptions to the head snippet for one partner's site, e.g. a WordPress site that cannot "
                      "edit its head. The verifier judges that site's copies by its rule.",
        ),
        FieldPanel("window_days"), FieldPanel("contact_email"),
    ]

    class Meta:
        verbose_name = "Republishing policy"

    @property
    def partners_only(self):
        return self.audience == self.PARTNERS

    @property
    def license_name(self):
        return LICENSES[self.license][0]

    @property
    def license_url(self):
        return LICENSES[self.license][1]

    def rules_for(self, host):
        """What this policy asks of copies on `host`: the partner site rule for it, or the policy's own."""
        wanted = _without_www(partner_host(host))
        best = None
        for rule in self._partner_site_rules:
            ruled = _without_www(rule.host)
            if ruled and (wanted == ruled or wanted.endswith("." + ruled)):
                if best is None or len(ruled) > len(_without_www(best.host)):  # the most specific host wins
                    best = rule
        if best is None:
            return SiteRules(
                canonical=CANONICAL_IN_HEAD if self.require_canonical else CANONICAL_NOT_REQUIRED,
                noindex=self.require_noindex,
            )
        return best.rules(self)

    @cached_property
    def _partner_site_rules(self):
        # A verifier run asks once per copy; one query per policy instance is enough.
        return list(self.partner_sites.all())

    @property
    def exception_mailto(self):
        """A mailto link for a partner asking to be judged by another rule; "" without a contact address."""
        if not self.contact_email:
            return ""
        subject = {"subject": "Republishing: canonical and noindex on our site"}
        # quote, not quote_plus: mail programs show a "+" in a mailto subject as it is.
        return urlunsplit(("mailto", "", self.contact_email, urlencode(subject, quote_via=quote), ""))


CANONICAL_AS_POLICY, CANONICAL_IN_HEAD, CANONICAL_IN_BODY, CANONICAL_NOT_REQUIRED = "policy", "head", "body", "none"
CANONICAL_CHOICES = [
    (CANONICAL_AS_POLICY, "As the policy says"),
    (CANONICAL_IN_HEAD, "Required in the head"),
    (CANONICAL_IN_BODY, "Accepted in the body too"),
    (CANONICAL_NOT_REQUIRED, "Not required"),
]
NOINDEX_AS_POLICY, NOINDEX_REQUIRED, NOINDEX_NOT_REQUIRED = "policy", "required", "none"
NOINDEX_CHOICES = [
    (NOINDEX_AS_POLICY, "As the policy says"),
    (NOINDEX_REQUIRED, "Required"),
    (NOINDEX_NOT_REQUIRED, "Not required"),
]


@dataclass(frozen=True)
class SiteRules:
    """What the policy asks of one partner site's copies once its own rule, if it has one, is applied."""

    canonical: str  # CANONICAL_IN_HEAD, CANONICAL_IN_BODY (head or body) or CANONICAL_NOT_REQUIRED
    noindex: bool
    host: str = ""  # the partner site rule that decided; "" when the policy's own settings hold
    note: str = ""

    @property
    def require_canonical(self):
        return self.canonical != CANONICAL_NOT_REQUIRED


def partner_host(value):
    """The host name in what an editor typed (a host, or an address copied from the browser), lower case,
    in its ASCII form; "" when there is none."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        host = urlsplit(value if "://" in value else "//" + value).hostname or ""
        return host.rstrip(".").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return ""


def _without_www(host):
    return host.removeprefix("www.")


class PartnerSiteRule(Orderable):
    """One partner site whose copies the policy judges by other rules than its own, e.g. a WordPress site
    whose head only an SEO plugin can change."""

    policy = ParentalKey(RepublishingPolicy, related_name="partner_sites", on_delete=models.CASCADE)
    host = models.CharField(
        max_length=253,
        help_text="The partner's host name, e.g. news.partner.example (an address copied from the browser "
                  "will do). Its www. and other subdomains follow the same rule.",
    )
    canonical = models.CharField(
        "canonical link", max_length=10, choices=CANONICAL_CHOICES, default=CANONICAL_AS_POLICY,
        help_text="Accepted in the body: a canonical link to our story anywhere on the page passes, for sites "
                  "that can paste into the story but not into the head.",
    )
    noindex = models.CharField(max_length=10, choices=NOINDEX_CHOICES, default=NOINDEX_AS_POLICY)
    note = models.CharField(
        max_length=300, blank=True, help_text="Why, agreed with whom, until when. For the newsroom only."
    )

    panels = [FieldPanel("host"), FieldPanel("canonical"), FieldPanel("noindex"), FieldPanel("note")]

    class Meta(Orderable.Meta):
        verbose_name = "partner site"

    def __str__(self):
        return self.host

    def clean(self):
        super().clean()
        host = partner_host(self.host)
        if not host or "." not in host:
            raise ValidationError({"host": "Enter a host name such as news.partner.example."})
        self.host = host

    def rules(self, policy):
        """The SiteRules this rule makes of `policy`: what it leaves "as the policy says" follows the policy."""
        if self.canonical == CANONICAL_AS_POLICY:
            canonical = CANONICAL_IN_HEAD if policy.require_canonical else CANONICAL_NOT_REQUIRED
        else:
            canonical = self.canonical
        if self.noindex == NOINDEX_AS_POLICY:
            noindex = policy.require_noindex
        else:
            noindex = self.noindex == NOINDEX_REQUIRED
        return SiteRules(canonical=canonical, noindex=noindex, host=self.host, note=self.note)
