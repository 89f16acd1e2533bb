"""The outlet's republishing policy: what partners read in the box, and the words of the credit lines."""

from django.db import models
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import RichTextField

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
class RepublishingPolicy(BaseSiteSetting):
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

    panels = [
        FieldPanel("introduction"), FieldPanel("guidelines"), FieldPanel("license"),
        MultiFieldPanel([FieldPanel("top_credit"), FieldPanel("bottom_credit")], heading="Credit lines"),
        MultiFieldPanel([FieldPanel("require_canonical"), FieldPanel("require_noindex")], heading="Head snippet"),
        FieldPanel("window_days"),
    ]

    class Meta:
        verbose_name = "Republishing policy"

    @property
    def license_name(self):
        return LICENSES[self.license][0]

    @property
    def license_url(self):
        return LICENSES[self.license][1]
