"""Asking readers for support: the appeal that closes every story and the store promo beside it."""

from django.db import models
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import RichTextField


@register_setting(icon="pick")
class SupportSettings(BaseSiteSetting):
    appeal_enabled = models.BooleanField(default=True)
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
            heading="Appeal closing every story",
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
