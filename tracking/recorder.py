"""Storing pixel hits in batches (group commit), never losing one that was answered.

- `GroupCommitRecorder`, for WSGI servers: each request thread hands its hit to a writer thread and waits on
  its batch's event. The writer takes everything that arrived while the previous commit ran, writes it in one
  transaction and wakes the whole batch at once. There is no linger timer: under load batches grow by
  themselves, and an idle server commits a lone hit at once. A crash can only lose hits whose requests have
  not been answered yet.
- `JournalCommitter`, for the RSGI pixel: its hits are already in the pixel's journal (tracking.journal) and
  answered; it writes them to the database in batches, with the journal marks that make recovery exact.

Every writer stores a batch through `write_isolating`, so that a hit the database refuses cannot hold up the
others, and reads the counting job's cursor first (`keep_after_counted`), so that no hit lands where the
counting job has already counted.
"""
import asyncio
import logging
import sqlite3
import threading
import time
from datetime import UTC, datetime

import psycopg
from django.db import DataError, IntegrityError, close_old_connections, connection, transaction

from .filters import UNSTORABLE
from .models import Cursor

logger = logging.getLogger(__name__)

# What a row's own values cause (a number out of range, a character the database refuses), unlike a database
# that is locked, gone or full: only these are worth narrowing down to the row. Writers use raw cursors, so
# the drivers' own classes as well as Django's.
DATA_ERRORS = (DataError, IntegrityError, sqlite3.DataError, sqlite3.IntegrityError, psycopg.DataError,
               psycopg.IntegrityError, ValueError, TypeError, OverflowError)


def write_isolating(write, rows, savepoint):
    """`write(rows)` within `savepoint()`, in the caller's transaction. Should the database refuse the batch
    for a row's values, the batch is halved until that row stands alone, and it is stored as a hit filtered
    as UNSTORABLE: counted, never lost, and no longer in the way of the hits after it, which would
    otherwise be retried together with it forever. Other errors are the caller's to retry."""
    try:
        with savepoint():
            write(rows)
        return
    except DATA_ERRORS as error:
        if _duplicate_key(error):  # hits have no unique column but their id: the table, not the row
            raise
        if len(rows) == 1:
            logger.error("The database refused a pixel hit (%r); stored as %r instead: %r", error, UNSTORABLE,
                         rows[0])
            write([unstorable(rows[0])])
            return
    middle = len(rows) // 2
    write_isolating(write, rows[:middle], savepoint)
    write_isolating(write, rows[middle:], savepoint)


def keep_after_counted(cursor, rows, quote, marker="%s", postgres=False):
    """Give the rows received before the counting job's cursor (`Cursor.counted_until`) that time instead,
    on a DB-API `cursor`, in the transaction that stores them. Counting never goes back, so such a hit would
    never be counted; it can only come from a writer that was held up longer than the job waits for
    (tracking.counting). On PostgreSQL the cursor's row is locked for share until the hits are committed:
    the job moves it on only once no transaction that read it is still storing hits."""
    table, name, until = quote(Cursor._meta.db_table), quote("name"), quote("counted_until")
    found = cursor.execute(f"SELECT {until} FROM {table} WHERE {name} = {marker}{' FOR SHARE' if postgres else ''}",
                           ("hits",)).fetchone()
    counted_until = found and found[0]
    if not counted_until:
        return
    if isinstance(counted_until, str):  # SQLite's text: UTC
        counted_until = datetime.fromisoformat(counted_until)
    if counted_until.tzinfo is None:
        counted_until = counted_until.replace(tzinfo=UTC)
    late = 0
    for row in rows:
        if row["received_at"] < counted_until:
            row["received_at"] = counted_until
            row.pop("received_text", None)
            late += 1
    if late:
        logger.warning("%d pixel hits arrived after the counting job had counted their time; counted as of %s",
                       late, counted_until)


def _duplicate_key(error):
    """Whether `error` (or the driver's error behind Django's) is a unique or primary key violation: a
    sequence behind the table's ids, say, after a restore."""
    cause = error.__cause__ if isinstance(error, IntegrityError) and error.__cause__ else error
    if isinstance(cause, psycopg.errors.UniqueViolation):
        return True
    return isinstance(cause, sqlite3.IntegrityError) and getattr(cause, "sqlite_errorname", "") in (
        "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_ROWID")


def unstorable(row):
    """What can be kept of a hit the database refused: when it came, and that it was not a view."""
    kept = {**row, "story_id": None, "via": "", "copy": "", "visitor": "", "filtered": UNSTORABLE}
    received_at = row.get("received_at")
    if not isinstance(received_at, datetime) or received_at.tzinfo is None:
        kept["received_at"] = datetime.now(UTC)
        kept.pop("received_text", None)
    return kept


class _Batch:
    """Hits committed together, and the event their threads wait on."""

    __slots__ = ("rows", "ok", "done")

    def __init__(self):
        self.rows = []
        self.ok = False
        self.done = threading.Event()

    def finish(self, ok):
        self.ok = ok
        self.done.set()


class GroupCommitRecorder:
    def __init__(self, write_batch, max_batch=5000):
        self.write_batch = write_batch
        self.max_batch = max_batch
        self._queue = []  # batches not yet taken by the writer; hits join the last one
        self._condition = threading.Condition()
        self._thread = None
        self._stopping = False

    def _join(self, row):
        """Queue `row` (holding the condition) and return its batch."""
        queue = self._queue
        if not queue or len(queue[-1].rows) >= self.max_batch:
            queue.append(_Batch())
        batch = queue[-1]
        batch.rows.append(row)
        if self._thread is None or not self._thread.is_alive():
            # Started on first use, so that each process started by a pre-forking server gets its own.
            self._thread = threading.Thread(target=self._run, name="hit-writer", daemon=True)
            self._thread.start()
        self._condition.notify()
        return batch

    def record(self, row, timeout=10.0):
        """Queue `row` and wait until it is committed; False if it could not be written in time."""
        with self._condition:
            batch = self._join(row)
        return batch.done.wait(timeout) and batch.ok

    def queued(self):
        """Hits waiting for the writer to take them (for tests)."""
        with self._condition:
            return sum(len(batch.rows) for batch in self._queue)

    def stop(self, timeout=10.0):
        """Write what is queued, then end the writer thread and close its database connection."""
        with self._condition:
            self._stopping = True
            self._condition.notify()
        if self._thread is not None:
            self._thread.join(timeout)
        self._stopping = False

    def _run(self):
        while True:
            with self._condition:
                while not self._queue and not self._stopping:
                    self._condition.wait()
                if not self._queue:
                    connection.close()
                    return
                batch = self._queue.pop(0)
            batch.finish(self._write(batch.rows))

    def _write(self, rows):
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    write_isolating(self.write_batch, rows, transaction.atomic)
                return True
            except Exception:
                logger.exception("Could not write %d pixel hits (attempt %d)", len(rows), attempt)
                close_old_connections()
                connection.close()
        return False


class Busy(Exception):
    """Another connection holds the database's write lock: try again in a moment."""


class JournalCommitter:
    """Writes journaled hits (tracking.journal) to the database in batches, off the request path.

    `add()` runs on the event loop; the first hit of a batch schedules a commit `linger` seconds later and
    every hit that arrives meanwhile joins the batch. Nobody waits for it (the hits are answered already),
    and each commit has a fixed cost: one every few milliseconds rather than one per turn of the loop.
    `write_batch(rows, marks, forget)` stores the rows and the journal marks in one transaction: on the loop
    itself for SQLite (a commit in WAL mode takes a fraction of a millisecond, and a thread would make the
    loop wait for the GIL), in a thread for PostgreSQL (whose commits wait on the network), one batch at a
    time either way.

    A batch that fails, or finds the database locked by another writer (`Busy`), stays queued and is tried
    again after a growing pause; its hits are safe in the journal meanwhile. Past `max_pending` queued hits
    `full()` says so and the pixel answers 503 instead of taking more.

    Each commit also says until when this process has stored every hit it received (`Marks.stored_until`),
    and an idle process commits that alone every `heartbeat` seconds: the counting job counts no hit past
    the oldest such time while a mark is fresh (tracking.counting)."""

    # Another writer holds the lock for a commit's length (milliseconds): try again soon, and keep trying.
    BUSY_DELAYS = (0.0005, 0.001, 0.002, 0.005)
    # Something is wrong (disk, server gone): back off, up to a second between attempts.
    RETRY_DELAYS = (0.001, 0.01, 0.05, 0.25, 1.0)

    def __init__(self, journal, write_batch, executor=None, max_pending=100_000, linger=0.01, heartbeat=1.0):
        self.journal = journal
        self.write_batch = write_batch
        self.executor = executor  # None: commit on the loop
        self.max_pending = max_pending
        self.linger = linger
        self.heartbeat = heartbeat
        self._positions = {}  # journal name: bytes the database holds
        self._beating = False
        self._rows = []
        self._forget = []  # journals rotated away whose marks can go
        self._scheduled = False
        self._in_flight_rows, self._in_flight_future = [], None  # a commit running in the executor
        self._failures = 0

    def full(self):
        return len(self._rows) >= self.max_pending

    def queued(self):
        """Hits not yet committed (waiting, or in a commit that is running)."""
        return len(self._rows) + len(self._in_flight_rows)

    @property
    def _running(self):
        return self._in_flight_future is not None

    def add(self, row, mark):
        """Queue a hit already in the journal; `mark` is (journal name, bytes written up to its line)."""
        row["journal"] = mark
        self._rows.append(row)
        if not self._scheduled and not self._running:
            self._schedule()
        if not self._beating:
            self.start_heartbeat(asyncio.get_running_loop())

    def register(self, timeout=30.0):
        """Store the current journal's mark before any hit is taken (at start-up, blocking): from then on the
        counting job waits for this process's hits, should it die with some in its journal."""
        marks = self._marks([])
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.executor is None:
                    self.write_batch([], marks, [])
                else:
                    self.executor.submit(self.write_batch, [], marks, []).result()
                break
            except Busy:
                if time.monotonic() > deadline:
                    raise
                time.sleep(self.BUSY_DELAYS[-1])
        self._positions.update(marks)

    def marked(self):
        """The journals whose marks this process keeps in the database."""
        return list(self._positions)

    def start_heartbeat(self, loop):
        if self.heartbeat and not self._beating:
            self._beating = True
            loop.call_later(self.heartbeat, self._beat, loop)

    def _beat(self, loop):
        if not self._scheduled and not self._running:
            self._commit(idle=True)
        loop.call_later(self.heartbeat, self._beat, loop)

    def _marks(self, rows, now=None):
        """The marks of a commit of `rows`: every hit this process received before now is in it or stored."""
        marks = Marks(now or datetime.now(UTC))
        if self.journal.name is not None:  # the current journal's mark moves on even with no hit in it
            marks[self.journal.name] = self._positions.get(self.journal.name, 0)
        for row in rows:
            name, position = row["journal"]
            marks[name] = position
        return marks

    def _schedule(self, delay=None):
        self._scheduled = True
        delay = self.linger if delay is None else delay
        loop = asyncio.get_running_loop()
        if delay:
            loop.call_later(delay, self._commit)
        else:
            loop.call_soon(self._commit)

    def flush(self, timeout=30.0):
        """Commit what is queued now, blocking (at shutdown); True if the database holds every hit added.

        Other workers stop at the same moment and flush too: a database locked by one of them is waited for
        (up to `timeout`), not given up on. A commit still running in the thread when the time is up may yet
        store its hits: then `writing()` stays true, and the journal must keep its locks until the process
        exits, or a worker starting meanwhile would store the same hits again."""
        self._scheduled = False
        deadline = time.monotonic() + timeout
        if self._running:  # the commit in the thread first: its hits come before the queued ones
            try:
                self._in_flight_future.result(timeout=timeout)
            except TimeoutError:
                logger.error("A commit of %d pixel hits is still running at shutdown", len(self._in_flight_rows))
                return False
            except Exception:
                self._rows[:0] = self._in_flight_rows
            self._in_flight_rows, self._in_flight_future = [], None
        rows, forget = self._rows, self._forget
        if not rows:
            return True
        marks = self._marks(rows)
        while True:
            try:
                if self.executor is None:
                    self.write_batch(rows, marks, forget)
                else:
                    future = self.executor.submit(self.write_batch, rows, marks, forget)
                    try:
                        future.result(timeout=max(0.0, deadline - time.monotonic()))
                    except TimeoutError:
                        self._rows, self._forget = [], []
                        self._in_flight_rows, self._in_flight_future = rows, future
                        logger.error("A commit of %d pixel hits is still running at shutdown", len(rows))
                        return False
                break
            except Busy:
                if time.monotonic() < deadline:
                    time.sleep(self.BUSY_DELAYS[-1])
                    continue
                logger.error("Database still locked: %d pixel hits stay in the journal", len(rows))
                return False
            except Exception:
                logger.exception("Could not write %d pixel hits at shutdown; they stay in the journal", len(rows))
                return False
        self._rows, self._forget = [], []
        self._positions.update(marks)
        self.journal.stored(marks)
        return True

    def writing(self):
        """Whether a commit is running in the thread (its hits may yet reach the database)."""
        return self._running and not self._in_flight_future.done()

    def _commit(self, idle=False):
        self._scheduled = False
        if self._running or not (self._rows or idle and self.journal.name is not None):
            return
        rows, forget = self._rows, self._forget
        self._rows, self._forget = [], []
        marks = self._marks(rows)
        if self.executor is None:
            try:
                self.write_batch(rows, marks, forget)
            except Exception as error:
                self._failed(rows, forget, error)
            else:
                self._committed(marks)
            return
        self._in_flight_rows = rows
        self._in_flight_future = submitted = self.executor.submit(self.write_batch, rows, marks, forget)
        asyncio.wrap_future(submitted).add_done_callback(
            lambda done: self._finished(submitted, rows, marks, forget))

    def _finished(self, submitted, rows, marks, forget):
        if submitted is not self._in_flight_future:  # flush() at shutdown took care of it
            return
        self._in_flight_rows, self._in_flight_future = [], None
        error = submitted.exception()
        if error is None:
            self._committed(marks)
        else:
            self._failed(rows, forget, error)

    def _committed(self, marks):
        self._failures = 0
        self._positions.update(marks)
        for name in (forgotten := self.journal.stored(marks)):
            self._positions.pop(name, None)
        self._forget += forgotten  # their marks go in the next transaction
        if self._rows and not self._scheduled:
            self._schedule()

    def _failed(self, rows, forget, error):
        self._rows[:0] = rows  # first in line again, in journal order
        self._forget[:0] = forget
        delays = self.BUSY_DELAYS if isinstance(error, Busy) else self.RETRY_DELAYS
        if delays is self.RETRY_DELAYS:
            logger.error("Could not write %d pixel hits (they stay in the journal): %r", len(rows), error)
        delay = delays[min(self._failures, len(delays) - 1)]
        self._failures += 1
        self._schedule(delay)


class Marks(dict):
    """{journal name: bytes of it the database holds}, written with a batch of hits, and the time before
    which the process had handed every hit it received to that batch or an earlier one."""

    def __init__(self, stored_until=None, *args):
        super().__init__(*args)
        self.stored_until = stored_until


class Checkpointer:
    """Copies the WAL back into the database every `every` seconds, in a thread of its own.

    SQLite normally checkpoints inside the commit that fills the WAL past 1,000 pages, fsync included: on
    the event loop that stalled every request for several milliseconds. A passive checkpoint never waits
    for writers or readers, and sqlite3 lets go of the GIL while it copies."""

    def __init__(self, connect, every):
        self._stopping = threading.Event()
        self._connect = connect
        self._every = every
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping.set()
        self._thread.join(5)

    def _run(self):
        connection = None
        try:
            while not self._stopping.wait(self._every):
                try:
                    if connection is None:
                        connection = self._connect()
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except Exception:
                    logger.exception("WAL checkpoint failed")
                    if connection is not None:
                        connection.close()
                        connection = None
        finally:
            if connection is not None:
                connection.close()
