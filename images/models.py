from django.db import models
from wagtail.images.models import AbstractImage, AbstractRendition, Image


class BylineImage(AbstractImage):
    """A picture with the facts a newsroom must print beside it: who made it and where it came from."""

    credit = models.CharField(
        max_length=255, blank=True, help_text='Printed as "Image by CREDIT", e.g. "Getty Images".'
    )
    source = models.CharField(
        max_length=255, blank=True, help_text="Where the picture came from: photographer, agency, handout."
    )
    default_caption = models.TextField(blank=True, help_text="Used where a story gives no caption of its own.")

    admin_form_fields = Image.admin_form_fields + ("credit", "source", "default_caption")


class BylineRendition(AbstractRendition):
    image = models.ForeignKey(BylineImage, on_delete=models.CASCADE, related_name="renditions")

    class Meta:
        unique_together = (("image", "filter_spec", "focal_point_key"),)
