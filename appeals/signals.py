"""Editors' changes to appeals reach cached story pages at once: any save or delete purges the page cache
(after the transaction commits, so a page rendered in between cannot keep the old words)."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from byline import edge

from .models import Appeal, AppealVariant, SupportSettings


def purge_after_commit(sender, **kwargs):
    if kwargs.get("raw"):
        return  # loading fixtures
    transaction.on_commit(edge.purge_all)


for model in (Appeal, AppealVariant, SupportSettings):
    post_save.connect(purge_after_commit, sender=model, dispatch_uid=f"appeals-purge-save-{model.__name__}")
    post_delete.connect(purge_after_commit, sender=model, dispatch_uid=f"appeals-purge-delete-{model.__name__}")
