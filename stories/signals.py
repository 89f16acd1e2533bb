"""Keep cached pages honest: publishing, unpublishing or moving a story purges every page that shows it."""

from django.db.models.signals import post_delete
from django.dispatch import receiver
from wagtail.signals import page_published, page_unpublished, post_page_move

from byline import edge

from .models import CachedPage


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
