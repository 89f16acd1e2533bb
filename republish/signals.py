"""The republish page and its JSON hold the story's text: when the story is published again (a correction,
an update) or unpublished, the page cache forgets them along with the story page (see stories.signals)."""

from django.dispatch import receiver
from django.urls import reverse
from wagtail.signals import page_published, page_unpublished

from byline import edge
from stories.models import StoryPage


@receiver(page_published)
@receiver(page_unpublished)
def purge_republish_addresses(sender, instance, **kwargs):
    if isinstance(instance, StoryPage):
        edge.purge([reverse("republish-page", args=[instance.pk]), reverse("republish-json", args=[instance.pk])])
