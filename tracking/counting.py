"""From raw hits to the numbers editors read: views, readers and filtered hits per story, copy and hour.

`count_new_hits()` reads the hits recorded since its last run, in order, and adds them to the rollups in the
same transaction that moves its cursor forward, so a hit is counted once even if the job is killed half-way
or two processes run it at once (the cursor row is locked).
"""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from stories.models import StoryPage

from . import filters
from .models import Copy, Cursor, FilteredCount, Hit, Rollup, Visit, host_of_copy
from .visitors import delete_old_salts

VIEW_GAP = timedelta(minutes=30)
# Hits younger than this are left for the next run: a writer in another process may still be committing
# hits with lower ids (PostgreSQL assigns ids before commit).
SETTLE = timedelta(seconds=5)
BATCH = 20_000


def hour_of(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def add_counts(model, key_fields, rows, add_fields, extra_fields=()):
    """INSERT ... ON CONFLICT DO UPDATE adding to counters: the same SQL on SQLite and PostgreSQL."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [model._meta.get_field(name).column for name in (*key_fields, *extra_fields, *add_fields)]
    quoted = [connection.ops.quote_name(column) for column in columns]
    keys = ", ".join(quoted[: len(key_fields)])
    updates = ", ".join(f"{q} = {table}.{q} + excluded.{q}" for q in quoted[len(key_fields) + len(extra_fields):])
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(quoted)}) VALUES ({placeholders}) ON CONFLICT ({keys}) DO UPDATE SET {updates}"
    field_objects = [model._meta.get_field(name) for name in (*key_fields, *extra_fields, *add_fields)]
    params = [[field.get_db_prep_value(value, connection) for field, value in zip(field_objects, row)] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _copies(pairs, now_by_pair):
    """Copy rows for (story id, url) pairs, created when new, with first and last seen kept up to date."""
    wanted = set(pairs)
    stories = {story_id for story_id, _ in wanted}
    existing = {
        (c.story_id, c.url): c
        for c in Copy.objects.filter(story_id__in=stories, url__in={url for _, url in wanted})
    }
    new = [Copy(story_id=s, url=u, host=host_of_copy(u), first_seen=now_by_pair[(s, u)][0],
                last_seen=now_by_pair[(s, u)][1]) for (s, u) in wanted - existing.keys()]
    if new:
        Copy.objects.bulk_create(new, ignore_conflicts=True)
        existing.update({(c.story_id, c.url): c for c in Copy.objects.filter(
            story_id__in={c.story_id for c in new}, url__in={c.url for c in new})})
    changed = []
    for pair, copy in existing.items():
        if pair in now_by_pair and now_by_pair[pair][1] > copy.last_seen:
            copy.last_seen = now_by_pair[pair][1]
            changed.append(copy)
    Copy.objects.bulk_update(changed, ["last_seen"])
    return existing


def count_new_hits(now=None, batch=BATCH):
    """Count one batch of new hits; returns how many were read (0 when there is nothing to do)."""
    now = now or timezone.now()
    with transaction.atomic():
        cursor, _ = Cursor.objects.get_or_create(name="hits")
        cursor = Cursor.objects.select_for_update().get(pk=cursor.pk)
        hits = list(
            Hit.objects.filter(id__gt=cursor.last_id, received_at__lt=now - SETTLE).order_by("id")[:batch]
        )
        if not hits:
            return 0
        story_ids = {hit.story_id for hit in hits if not hit.filtered}
        published = set(StoryPage.objects.live().public().filter(pk__in=story_ids).values_list("pk", flat=True))

        filtered, counted = {}, []
        for hit in hits:
            reason = hit.filtered or ("" if hit.story_id in published else filters.UNKNOWN_STORY)
            hit.copy = hit.copy or Copy.UNKNOWN
            if reason:
                key = (hour_of(hit.received_at), reason)
                filtered[key] = filtered.get(key, 0) + 1
            else:
                counted.append(hit)

        visits = {
            (v.visitor, v.story_id): v
            for v in Visit.objects.filter(
                visitor__in={h.visitor for h in counted}, story_id__in={h.story_id for h in counted}
            )
        }
        seen = {}
        for hit in counted:
            pair = (hit.story_id, hit.copy)
            first, last = seen.get(pair, (hit.received_at, hit.received_at))
            seen[pair] = (min(first, hit.received_at), max(last, hit.received_at))
        copies = _copies(seen.keys(), seen)

        rollups, touched = {}, {}
        for hit in counted:
            key = (hit.visitor, hit.story_id)
            visit = visits.get(key)
            day = hit.received_at.date()
            is_view = visit is None or hit.received_at - visit.last_view_at >= VIEW_GAP
            is_reader = is_view and (visit is None or visit.reader_day != day)
            if is_view:
                if visit is None:
                    visit = visits[key] = Visit(visitor=hit.visitor, story_id=hit.story_id,
                                                last_view_at=hit.received_at, reader_day=day)
                visit.last_view_at = hit.received_at
                if is_reader:
                    visit.reader_day = day
                touched[key] = visit
            copy = copies[(hit.story_id, hit.copy)]
            rollup_key = (copy.pk, hour_of(hit.received_at))
            counts = rollups.setdefault(rollup_key, [hit.story_id, copy.is_own, 0, 0, 0])
            counts[2] += 1
            counts[3] += is_view
            counts[4] += is_reader

        # Split before creating: bulk_create sets the new rows' ids, and they must not be written twice.
        new_visits = [v for v in touched.values() if v.pk is None]
        old_visits = [v for v in touched.values() if v.pk is not None]
        Visit.objects.bulk_create(new_visits)
        Visit.objects.bulk_update(old_visits, ["last_view_at", "reader_day"])
        add_counts(Rollup, ("copy", "hour"),
                [(copy_id, hour, story_id, own, h, v, r) for (copy_id, hour), (story_id, own, h, v, r) in rollups.items()],
                add_fields=("hits", "views", "readers"), extra_fields=("story_id", "own"))
        add_counts(FilteredCount, ("hour", "reason"), [(hour, reason, n) for (hour, reason), n in filtered.items()],
                add_fields=("hits",))
        cursor.last_id = hits[-1].id
        cursor.save(update_fields=["last_id"])
        return len(hits)


def drain(count_batch, now=None):
    """Run a batch counting job until it has caught up; returns how many rows it read in all."""
    total = 0
    while True:
        counted = count_batch(now=now)
        total += counted
        if counted < BATCH:
            return total


def count_all_new_hits(now=None):
    return drain(count_new_hits, now)


def forget_old_data(now=None):
    """Privacy and size: salts after 48 hours, visit keys after two days, counted raw hits after the
    retention period. Rollups hold no visitor data and are kept."""
    now = now or timezone.now()
    delete_old_salts(now)
    Visit.objects.filter(last_view_at__lt=now - timedelta(days=2)).delete()
    cursor = Cursor.objects.filter(name="hits").first()
    if cursor:
        cutoff = now - timedelta(days=settings.RAW_HIT_RETENTION_DAYS)
        Hit.objects.filter(id__lte=cursor.last_id, received_at__lt=cutoff).delete()
