"""The republish page and its JSON hold the story's text: when the story is published again (a correction,
an update) or unpublished, the page cache forgets them along with the story page (see stories.signals)."""

from django.db.models.signals import post_save
from django.dispatch import receiver
from django.urls import reverse
from wagtail.signals import page_published, page_unpublished

from byline import edge
from stories.models import StoryPage
from stories.signals import purge_all_now_and_on_commit

from .models import RepublishingPolicy


@receiver(page_published)
@receiver(page_unpublished)
def purge_republish_addresses(sender, instance, **kwargs):
    if isinstance(instance, StoryPage):
        edge.purge([reverse("republish-page", args=[instance.pk]), reverse("republish-json", args=[instance.pk])])


@receiver(post_save, sender=RepublishingPolicy)
def purge_on_policy_change(sender, raw=False, **kwargs):
    # Every story's republish box states the policy.
    if not raw:
        purge_all_now_and_on_commit()
