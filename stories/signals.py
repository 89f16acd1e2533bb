"""Keep cached pages honest: publishing, unpublishing or moving a story purges every page that shows it;
editing what many pages show (an author's bio, an origin, a picture's credit, the newsroom's settings)
purges them all."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from wagtail.images import get_image_model
from wagtail.models import Page, PageViewRestriction
from wagtail.signals import page_published, page_unpublished, post_page_move

from byline import edge

from .lists import forget_list_pools
from .models import Author, CachedPage, MissedPin, NewsroomSettings, Origin


def purge_page_and_ancestors(page):
    paths = [ancestor.specific_deferred.url for ancestor in page.get_ancestors(inclusive=True) if ancestor.depth > 1]
    edge.purge(path for path in paths if path)


@receiver(page_published)
@receiver(page_unpublished)
def purge_on_publish(sender, instance, **kwargs):
    if isinstance(instance, CachedPage):
        purge_page_and_ancestors(instance)


@receiver(post_page_move)
def purge_on_move(sender, instance, url_path_before, url_path_after, **kwargs):
    # The old address must stop answering from cache as soon as the page has moved away.
    edge.purge_all()


@receiver(post_delete)
def purge_on_delete(sender, instance, **kwargs):
    if isinstance(instance, CachedPage):
        edge.purge_all()


def purge_all_now_and_on_commit():
    # Again after the commit: a page rendered meanwhile may still have read the old words.
    edge.purge_all()
    transaction.on_commit(edge.purge_all)


@receiver(post_save)
@receiver(post_delete)
def purge_on_shared_change(sender, instance, created=False, raw=False, **kwargs):
    # A new author, origin or picture is on no cached page yet; a changed or deleted one may be on many.
    if raw or created:
        return
    if isinstance(instance, (Author, Origin, NewsroomSettings, MissedPin, get_image_model())):
        purge_all_now_and_on_commit()


@receiver(post_save)
@receiver(post_delete)
def forget_list_pools_on_change(sender, instance, **kwargs):
    # Any saved page (published, unpublished, renamed, created by a factory), any change of privacy or of
    # the newsroom's list settings may change what story pages list: see stories.lists.list_pool.
    if isinstance(instance, (Page, PageViewRestriction, NewsroomSettings, MissedPin)):
        forget_list_pools_now_and_on_commit()


@receiver(post_page_move)
def forget_list_pools_on_move(sender, **kwargs):
    forget_list_pools_now_and_on_commit()


def forget_list_pools_now_and_on_commit():
    # Again after the commit: a worker filling its pool meanwhile still read the data from before it.
    forget_list_pools()
    transaction.on_commit(forget_list_pools)
