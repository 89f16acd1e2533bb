"""From raw appeal events to the numbers the Appeals dashboard reads: views and clicks per version and hour.

Same definitions as the pixel's (docs/tracking.md), per version of an appeal:
- a *view* is a view event (the appeal's beacon loaded) that passed the filters, de-duplicated per visitor,
  version and story within 30 minutes (a reload is not a second view);
- a *click* is a click event (the button followed) that passed the filters, de-duplicated the same way (a
  double click, or coming back and clicking again, is one click);
- *filtered* events were dropped, counted per kind and reason.

`count_new_events()` reads the events recorded since its last run, in order, and adds them to the counts in the
same transaction that moves its cursor (a `tracking.models.Cursor` row named "appeal-events", locked), so an
event is counted once even if the job is killed half-way or runs twice at once.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from stories.models import StoryPage
from tracking.api import BATCH, UNKNOWN_STORY, VIEW_GAP, Cursor, add_counts, drain, hour_of

from .models import AppealEvent, EventVisit, FilteredEvent, VariantCount

CURSOR = "appeal-events"
# Events younger than this are left for the next run: a request in another process may still be committing
# events with lower ids (PostgreSQL assigns ids before commit).
SETTLE = timedelta(seconds=5)


def count_new_events(now=None, batch=BATCH):
    """Count one batch of new events; returns how many were read (0 when there is nothing to do)."""
    now = now or timezone.now()
    with transaction.atomic():
        cursor, _ = Cursor.objects.get_or_create(name=CURSOR)
        cursor = Cursor.objects.select_for_update().get(pk=cursor.pk)
        events = list(
            AppealEvent.objects.filter(id__gt=cursor.last_id, received_at__lt=now - SETTLE).order_by("id")[:batch]
        )
        if not events:
            return 0
        story_ids = {event.story_id for event in events if not event.filtered}
        published = set(StoryPage.objects.live().public().filter(pk__in=story_ids).values_list("pk", flat=True))

        filtered, counted = {}, []
        for event in events:
            reason = event.filtered or ("" if event.story_id in published else UNKNOWN_STORY)
            if reason:
                key = (hour_of(event.received_at), event.kind, reason)
                filtered[key] = filtered.get(key, 0) + 1
            else:
                counted.append(event)

        visits = {
            (v.visitor, v.variant_id, v.story_id, v.kind): v
            for v in EventVisit.objects.filter(
                visitor__in={e.visitor for e in counted}, variant_id__in={e.variant_id for e in counted},
                story_id__in={e.story_id for e in counted},
            )
        }
        counts, touched = {}, {}
        for event in counted:
            key = (event.visitor, event.variant_id, event.story_id, event.kind)
            visit = visits.get(key)
            if visit is not None and event.received_at - visit.last_at < VIEW_GAP:
                continue  # a repeat within 30 minutes: not a new view or click
            if visit is None:
                visit = visits[key] = EventVisit(visitor=event.visitor, variant_id=event.variant_id,
                                                 story_id=event.story_id, kind=event.kind, last_at=event.received_at)
            visit.last_at = event.received_at
            touched[key] = visit
            row = counts.setdefault((event.variant_id, hour_of(event.received_at)), [event.appeal_id, 0, 0])
            row[1 if event.kind == AppealEvent.VIEW else 2] += 1

        EventVisit.objects.bulk_create([v for v in touched.values() if v.pk is None])
        EventVisit.objects.bulk_update([v for v in touched.values() if v.pk is not None], ["last_at"])
        add_counts(VariantCount, ("variant_id", "hour"),
                   [(variant_id, hour, appeal_id, views, clicks)
                    for (variant_id, hour), (appeal_id, views, clicks) in counts.items()],
                   add_fields=("views", "clicks"), extra_fields=("appeal_id",))
        add_counts(FilteredEvent, ("hour", "kind", "reason"),
                   [(hour, kind, reason, n) for (hour, kind, reason), n in filtered.items()], add_fields=("events",))
        cursor.last_id = events[-1].id
        cursor.save(update_fields=["last_id"])
        return len(events)


def count_all_new_events(now=None):
    return drain(count_new_events, now)


def forget_old_events(now=None):
    """Privacy and size, as for pixel hits: visit keys after two days, counted raw events after the retention
    period (BYLINE_RAW_HIT_RETENTION_DAYS). Daily salts are deleted by the pixel's own job (`count_hits`)."""
    now = now or timezone.now()
    EventVisit.objects.filter(last_at__lt=now - timedelta(days=2)).delete()
    cursor = Cursor.objects.filter(name=CURSOR).first()
    if cursor:
        cutoff = now - timedelta(days=settings.RAW_HIT_RETENTION_DAYS)
        AppealEvent.objects.filter(id__lte=cursor.last_id, received_at__lt=cutoff).delete()
