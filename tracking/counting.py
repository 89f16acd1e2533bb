"""From raw hits to the numbers editors read: views, readers and filtered hits per story, copy and hour.

Hits are counted in the order readers made them, by the time each was received, never by id: ids follow the
order rows reach the database, and a pixel server that restarts stores the hits its journal kept with their
old times and new, higher ids (several servers, several workers, and PostgreSQL's ids handed out before
commit all do the same on a smaller scale). Counting by id skipped such hits for good.

`count_new_hits()` counts, each run, the hits received between the cursor (`Cursor.counted_until`) and the
*settled* time (`settled_until`): the time before which every hit is in the database. That is the older of
`now - COUNT_SETTLE_SECONDS` and, for each pixel server, the time up to which it has stored every hit it
received (`JournalMark.stored_until`, written in the same transaction as its hits and once a second when it
is idle). A server killed with hits still in its journal leaves its mark behind, so counting waits for its
restart to store them (up to `COUNT_WAIT_SECONDS`) and then counts them in their place. Views and readers
depend on the order of a visitor's hits, and so are exactly what they would have been had every hit
arrived in time.

Nothing is ever skipped, whatever the clocks: the writers read `counted_until` in each transaction that
stores hits (a shared row lock on PostgreSQL; SQLite has one writer at a time) and give a hit received
before it that time instead (`recorder.keep_after_counted`), and the job stores a batch only if the hits in
its range are still the ones it read. The batch is counted in memory outside any transaction
(`tally_new_hits`) and stored with the cursor in one transaction (`Tally.store`), which stores nothing if
the cursor moved meanwhile: a hit is counted once even if the job is killed half-way or two processes run it
at once.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Min
from django.utils import timezone

from stories.models import StoryPage

from . import filters
from .models import Copy, Cursor, FilteredCount, Hit, JournalMark, Rollup, Visit, host_of_copy
from .visitors import delete_old_salts

VIEW_GAP = timedelta(minutes=30)
HITS = "hits"  # the cursor's name
# Hits per batch. On SQLite a batch's write transaction holds the database's lock (the pixel's commits wait
# meanwhile): 10,000 new readers hold it about 0.2 s here, at 90% of the hits per second of 20,000
# (docs/performance.md).
BATCH = 10_000


def hour_of(moment):
    return moment.replace(minute=0, second=0, microsecond=0)


def _upsert_sql(model, key_fields, fields, updated, assign):
    """INSERT of `fields` into `model`'s table, and on a clash on `key_fields` an UPDATE of the `updated`
    fields, each by `assign(table, quoted column)`: the same SQL on SQLite and PostgreSQL."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [quote(model._meta.get_field(name).column) for name in fields]
    keys = ", ".join(quote(model._meta.get_field(name).column) for name in key_fields)
    updates = ", ".join(assign(table, quote(model._meta.get_field(name).column)) for name in updated)
    placeholders = ", ".join(["%s"] * len(columns))
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) "
            f"ON CONFLICT ({keys}) DO UPDATE SET {updates}")


def _write(sql, model, fields, rows):
    # executemany on raw rows: Django's bulk_create and bulk_update compile every row's expressions in
    # Python, which cost more than the counting itself (a second a batch).
    database = connections[DEFAULT_DB_ALIAS]  # not the `connection` proxy: one look-up, not one per value
    preps = [model._meta.get_field(name).get_db_prep_value for name in fields]
    params = [[prep(value, database) for prep, value in zip(preps, row, strict=True)] for row in rows]
    with database.cursor() as cursor:
        cursor.executemany(sql, params)


def add_counts(model, key_fields, rows, add_fields, extra_fields=()):
    """Add `rows` (key fields, extra fields, then counters) to the counters of `model`'s rows, creating them."""
    if not rows:
        return
    fields = (*key_fields, *extra_fields, *add_fields)
    sql = _upsert_sql(model, key_fields, fields, add_fields, lambda table, q: f"{q} = {table}.{q} + excluded.{q}")
    _write(sql, model, fields, rows)


def upsert_rows(model, key_fields, rows, set_fields):
    """Create or overwrite `model`'s rows: `rows` hold the key fields, then `set_fields`."""
    if not rows:
        return
    fields = (*key_fields, *set_fields)
    _write(_upsert_sql(model, key_fields, fields, set_fields, lambda table, q: f"{q} = excluded.{q}"), model, fields,
           rows)


def _copies(seen):
    """{(story id, url): (copy id, is our site)} for the pairs of `seen` ({pair: (first, last) seen}),
    creating new copies and moving last_seen forward."""
    stories = {story_id for story_id, _ in seen}
    existing = {(story_id, url): (pk, last_seen) for pk, story_id, url, last_seen in Copy.objects.filter(
        story_id__in=stories, url__in={url for _, url in seen}).values_list("pk", "story_id", "url", "last_seen")}
    new = [Copy(story_id=s, url=u, host=host_of_copy(u), first_seen=seen[(s, u)][0], last_seen=seen[(s, u)][1])
           for (s, u) in seen.keys() - existing.keys()]
    if new:
        Copy.objects.bulk_create(new, ignore_conflicts=True)
        existing.update({(story_id, url): (pk, last_seen) for pk, story_id, url, last_seen in Copy.objects.filter(
            story_id__in={c.story_id for c in new}, url__in={c.url for c in new}).values_list(
            "pk", "story_id", "url", "last_seen")})
    # (The look-up by stories and by urls may find pairs not asked for: they are left alone.)
    later = [(seen[pair][1], pk) for pair, (pk, last_seen) in existing.items()
             if pair in seen and seen[pair][1] > last_seen]
    if later:
        table, column = connection.ops.quote_name(Copy._meta.db_table), connection.ops.quote_name("last_seen")
        _write(f"UPDATE {table} SET {column} = %s WHERE id = %s", Copy, ("last_seen", "id"), later)
    return {pair: (pk, pair[1] == Copy.OUR_SITE) for pair, (pk, _) in existing.items()}


@dataclass
class Tally:
    """One batch of hits counted in memory, not yet stored: the `read` hits received from `start` (None: the
    first) until just before `end`."""

    start: object
    end: object
    read: int
    filtered: dict  # (hour, reason): hits
    rollups: dict  # (story id, copy url, hour): [hits, views, readers]
    visits: dict  # (visitor, story id): [last view, day last counted as a reader], for visits with a new view
    seen: dict  # (story id, copy url): (first, last) seen in this batch

    def store(self):
        """Add the batch to the rollups and move the cursor on, in one transaction; returns how many hits it
        stored: 0 if another run counted them meanwhile, None if a hit in its range was stored after it was
        read (count again)."""
        with transaction.atomic():
            # Locked: writers read it in every transaction that stores hits (recorder.keep_after_counted), so
            # none can store a hit inside this batch's range once the range has been checked below.
            cursor = Cursor.objects.select_for_update().get(name=HITS)
            if cursor.counted_until != self.start:
                return 0
            if received_between(self.start, self.end).count() != self.read:
                return None
            copies = _copies(self.seen)
            upsert_rows(Visit, ("visitor", "story_id"), [(*key, *visit) for key, visit in self.visits.items()],
                        ("last_view_at", "reader_day"))
            rows = []
            for (story_id, copy, hour), counts in self.rollups.items():
                copy_id, own = copies[(story_id, copy)]
                rows.append((copy_id, hour, story_id, own, *counts))
            add_counts(Rollup, ("copy", "hour"), rows, add_fields=("hits", "views", "readers"),
                       extra_fields=("story_id", "own"))
            add_counts(FilteredCount, ("hour", "reason"),
                       [(hour, reason, n) for (hour, reason), n in self.filtered.items()], add_fields=("hits",))
            cursor.counted_until = self.end
            cursor.save(update_fields=["counted_until"])
        return self.read


def settled_until(now):
    """The receive time before which every hit is in the database (see the module's docstring)."""
    until = now - timedelta(seconds=settings.COUNT_SETTLE_SECONDS)
    waiting_for = JournalMark.objects.filter(
        stored_until__gte=now - timedelta(seconds=settings.COUNT_WAIT_SECONDS)).aggregate(Min("stored_until"))
    oldest = waiting_for["stored_until__min"]
    return min(until, oldest) if oldest is not None else until


def received_between(start, end):
    hits = Hit.objects.filter(received_at__lt=end)
    return hits if start is None else hits.filter(received_at__gte=start)


def tally_new_hits(now, batch=BATCH):
    """Read and count the next batch of hits, outside any transaction; None when there is nothing new.

    Only `Tally.store` writes, so that on SQLite, whose write transactions hold the database's lock from
    their start while the pixel's commits wait, the lock lasts as long as the writing and no longer."""
    cursor, _ = Cursor.objects.get_or_create(name=HITS)
    start, end = cursor.counted_until, settled_until(now)
    if start is not None and end <= start:
        return None
    columns = ("received_at", "story_id", "copy", "visitor", "filtered")
    hits = list(received_between(start, end).order_by("received_at", "id").values_list(*columns)[:batch + 1])
    if len(hits) > batch:
        # The batch ends before the first hit left out, so that hits received at one instant stay together.
        end = hits[batch][0]
        hits = [hit for hit in hits[:batch] if hit[0] < end]
        if not hits:  # more than a batch at one instant: all of them
            hits = list(Hit.objects.filter(received_at=end).order_by("id").values_list(*columns))
            end += timedelta(microseconds=1)
    if not hits:
        return None
    story_ids = {story_id for _, story_id, _, _, reason in hits if not reason}
    published = set(StoryPage.objects.live().public().filter(pk__in=story_ids).values_list("pk", flat=True))

    filtered, counted = {}, []
    for received_at, story_id, copy, visitor, reason in hits:
        reason = reason or ("" if story_id in published else filters.UNKNOWN_STORY)
        if reason:
            key = (hour_of(received_at), reason)
            filtered[key] = filtered.get(key, 0) + 1
        else:
            counted.append((received_at, story_id, copy or Copy.UNKNOWN, visitor))

    visits = {
        (visitor, story_id): [last_view_at, reader_day]
        for visitor, story_id, last_view_at, reader_day in Visit.objects.filter(
            visitor__in={h[3] for h in counted}, story_id__in={h[1] for h in counted}
        ).values_list("visitor", "story_id", "last_view_at", "reader_day")
    }
    rollups, touched, seen = {}, {}, {}
    for received_at, story_id, copy, visitor in counted:
        key = (visitor, story_id)
        visit = visits.get(key)
        day = received_at.date()
        is_view = visit is None or received_at - visit[0] >= VIEW_GAP
        is_reader = is_view and (visit is None or visit[1] != day)
        if is_view:
            if visit is None:
                visit = visits[key] = [received_at, day]
            visit[0] = received_at
            if is_reader:
                visit[1] = day
            touched[key] = visit
        counts = rollups.setdefault((story_id, copy, hour_of(received_at)), [0, 0, 0])
        counts[0] += 1
        counts[1] += is_view
        counts[2] += is_reader
        first, last = seen.get((story_id, copy), (received_at, received_at))
        seen[(story_id, copy)] = (min(first, received_at), max(last, received_at))
    return Tally(start=start, end=end, read=len(hits), filtered=filtered, rollups=rollups,
                 visits=touched, seen=seen)


def count_new_hits(now=None, batch=BATCH):
    """Count one batch of new hits; returns how many were read and stored (0 when there is nothing to do, or
    when another run counted them first). A hit is counted once even if the job is killed half-way or two
    processes run it at once: the rollups and the cursor move in one transaction, which stores nothing if the
    cursor moved since the batch was read."""
    for _ in range(5):
        tally = tally_new_hits(now or timezone.now(), batch)
        if not tally:
            return 0
        stored = tally.store()
        if stored is not None:
            return stored
    return 0  # hits kept arriving inside the batch's range (a writer far behind): the next run counts them


def drain(count_batch, now=None):
    """Run a batch counting job until a batch finds nothing new; returns how many rows it read in all."""
    total = 0
    while counted := count_batch(now=now):
        total += counted
    return total


def count_all_new_hits(now=None):
    return drain(count_new_hits, now)


def forget_old_data(now=None):
    """Privacy and size: salts after 48 hours, visit keys after two days, counted raw hits after the
    retention period. Rollups hold no visitor data and are kept."""
    now = now or timezone.now()
    delete_old_salts(now)
    Visit.objects.filter(last_view_at__lt=now - timedelta(days=2)).delete()
    counted_until = Cursor.objects.filter(name=HITS).values_list("counted_until", flat=True).first()
    if counted_until:
        cutoff = now - timedelta(days=settings.RAW_HIT_RETENTION_DAYS)
        Hit.objects.filter(received_at__lt=min(cutoff, counted_until)).delete()
