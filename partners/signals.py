"""Keeping partners' feeds fresh: their cache is purged when stories, corrections or the policy change.

Every process builds the feeds again once the token in the shared cache is replaced (partners.feeds); it is,
at once and again after the transaction commits (a build made meanwhile may have read the data from before),
whenever something the feeds carry or decide by may have changed: any page (a story published, unpublished,
moved, edited; a section's republishing switch), a page's privacy, a correction, an author's name or a
story's authors, an origin (whether its stories may travel), the newsroom's name, the republishing policy and
its partner site rules, the site's address.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from wagtail.models import Page, PageViewRestriction, Site
from wagtail.signals import page_published, page_unpublished, post_page_move

from republish.models import PartnerSiteRule, RepublishingPolicy
from stories.models import Author, Correction, NewsroomSettings, Origin, StoryAuthor, StoryTag

from .feeds import forget_feeds

CARRIED = (Page, PageViewRestriction, Site, Correction, Author, StoryAuthor, StoryTag, Origin, NewsroomSettings,
           RepublishingPolicy, PartnerSiteRule)


def forget_feeds_now_and_on_commit():
    forget_feeds()
    transaction.on_commit(forget_feeds)


@receiver(post_save)
@receiver(post_delete)
def forget_feeds_on_change(sender, instance, raw=False, **kwargs):
    if not raw and isinstance(instance, CARRIED):
        forget_feeds_now_and_on_commit()


@receiver(page_published)
@receiver(page_unpublished)
@receiver(post_page_move)
def forget_feeds_on_publish(sender, instance, **kwargs):
    forget_feeds_now_and_on_commit()
