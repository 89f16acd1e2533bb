"""Publishing a story records what it changed for partners' copies (corrections.recording).

Two receivers:

- `pre_save` of a story notes what the database held before the save: the live revision (Wagtail's
  `page_published` comes after the page is saved, when the new revision is already the live one), and the
  version. The version is ours alone (`StoryPage.version` is not editable): a revision holds the version of
  when it was made, and publishing it must not write an older one back, so the saved value never goes down.
- `page_published` of a story compares the new live revision with that one and records the change; its
  notices are made by the `send_notices` job (corrections.recording.notify_pending), not in the editor's
  request. What goes wrong here is logged, never raised: the story is published whatever happens to it.
"""

import logging

from django.db import transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver
from wagtail.signals import page_published

from stories.models import StoryPage

from .recording import BEFORE_PUBLISH, previous_live_revision_id, record_change

logger = logging.getLogger(__name__)


@receiver(pre_save, sender=StoryPage)
def note_what_was_live(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"live_revision", "live_revision_id", "version"} & set(update_fields):
        return  # a draft's save (save_revision) neither publishes nor writes the version
    before = StoryPage.objects.filter(pk=instance.pk).values("live_revision_id", "version").first()
    if before is None:
        return
    setattr(instance, BEFORE_PUBLISH, before)
    if (instance.version or 0) < before["version"]:
        instance.version = before["version"]


@receiver(page_published)
def record_changes_on_publish(sender, instance, revision=None, **kwargs):
    if not isinstance(instance, StoryPage) or revision is None:
        return
    if not instance.live or instance.live_revision_id != revision.pk:
        return  # scheduled for later: recorded when it goes live
    try:
        with transaction.atomic():
            record_change(instance, revision, previous_live_revision_id(instance, revision))
    except Exception:
        logger.exception("Corrections: the publication of story %s (revision %s) could not be recorded",
                         instance.pk, revision.pk)
