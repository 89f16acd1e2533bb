"""Cached story pages switch appeals on time: the page cache is purged when a campaign starts or ends.

Why a scheduled purge: story pages are whole pages in the page cache (`byline/edge.py`) for up to
BYLINE_STORY_CACHE_SECONDS (300 s), each worker keeps its own copy for BYLINE_EDGE_LOCAL_SECONDS (5 s) and
browsers for `max-age=60`. Left alone, a page cached a second before a campaign starts would show the old appeal
for 300 + 5 + 60 seconds, more than the five minutes allowed. Campaign boundaries are known in advance and rare
(a few a month), so `purge_at_boundaries()` runs every minute (the `switch_appeals` job, from `run_jobs`)
and calls `edge.purge_all()` once a start or end has passed. Worst case after a boundary: up to 60 s until the
next run, plus SETTLE, plus 5 s in a worker, plus 60 s in a reader's browser: about two minutes.
Pages stay whole and fast: no extra request per page view, nothing for readers without JavaScript to miss, and
the rest of the time the cache works as before. (A short-lived fragment would cost a request per view all year to
serve a change that happens a few times a month.)

Editors' own changes (saving or deleting an appeal or a version, saving Settings → Support) purge at once; see
`appeals.signals`.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from byline import edge

from .models import Appeal, BoundaryWatch

# A page whose rendering began just before a boundary may be stored in the cache just after it: a boundary is
# acted on once it is this old, so such a page is purged too.
SETTLE = timedelta(seconds=5)


def boundaries_between(since, until):
    """Live appeals that start or end in (since, until]."""
    return Appeal.objects.filter(live=True).filter(
        Q(starts_at__gt=since, starts_at__lte=until) | Q(ends_at__gt=since, ends_at__lte=until)
    )


def purge_at_boundaries(now=None):
    """Purge the page cache if a campaign started or ended since the last check; True if it purged.

    The first run (nothing checked before) purges, since nobody knows what the cache holds."""
    now = now or timezone.now()
    horizon = now - SETTLE
    with transaction.atomic():
        watch = BoundaryWatch.objects.select_for_update().order_by("pk").first()
        if watch is None:
            passed = True
            watch = BoundaryWatch(checked_until=horizon)
        elif horizon <= watch.checked_until:
            return False  # a clock set back, or two runs at once: nothing new to look at
        else:
            passed = boundaries_between(watch.checked_until, horizon).exists()
        watch.checked_until = horizon
        watch.save()
    if passed:
        edge.purge_all()
    return passed
