"""Storing pixel hits, never losing one that was answered. Two recorders, one interface: `record(row)`
says whether the hit is safe (True) or the reader must be told it was not counted (False).

- `GroupCommitRecorder`, for WSGI servers: each request thread hands its hit to a writer thread and waits on
  its batch's event. The writer takes everything that arrived while the previous commit ran, writes it in one
  transaction and wakes the whole batch at once. There is no linger timer: under load batches grow by
  themselves, and an idle server commits a lone hit at once. A crash can only lose hits whose requests have
  not been answered yet.
- `JournaledRecorder`, for the RSGI pixel on granian's event loop: each hit is copied into this process's
  journal (tracking.journal) and answered at once; its `JournalCommitter` writes the hits to the database in
  batches a moment later, with the journal marks that make recovery exact.

The SQL they run is in tracking.writers.
"""
import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from django.conf import settings
from django.db import close_old_connections, connection, transaction

from .journal import Journal, recover
from .models import JournalMark
from .writers import Busy, SQLiteWriter, write_batch, write_hits, write_isolating

logger = logging.getLogger(__name__)


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


class JournaledRecorder:
    """The RSGI pixel's recorder: `record(row)` puts the hit in this process's journal and queues it for its
    committer. `start(pool, loop)`, before the first hit, stores what a dead process left in its journal
    (tracking.journal.recover) and opens this one's; `stop(pool)` stores what is queued. `pool` runs what
    must not run on the event loop (Django's connections)."""

    def __init__(self, directory=None, journal=None, committer=None):
        self.directory = directory
        self.journal, self.committer = journal, committer

    def start(self, pool, loop=None):
        if self.committer is not None:
            return
        directory = self.directory or settings.PIXEL_JOURNAL_DIR
        # Hits that a process answered but did not store before it died: stored before taking new ones.
        pool.submit(recover, directory, write_hits).result()
        self.journal = Journal(directory)
        self.journal.start()
        if connection.vendor == "sqlite":
            self.committer = JournalCommitter(self.journal, SQLiteWriter())
        else:
            self.committer = JournalCommitter(self.journal, write_batch,
                                              executor=ThreadPoolExecutor(1, thread_name_prefix="hit-writer"))
        self.committer.register()
        if loop is not None:
            self.committer.start_heartbeat(loop)

    def record(self, row):
        """Whether the hit is safely in the journal (and queued for the database)."""
        if self.committer.full():  # the database has been unreachable for a long while
            return False
        try:
            mark = self.journal.append(row)
        except OSError:
            logger.exception("Pixel hit could not be written to the journal")
            return False
        self.committer.add(row, mark)
        return True

    def stop(self, pool):
        committer = self.committer
        if committer is None:
            return
        all_stored = committer.flush()
        # A commit still running keeps the journal locked until the process exits: a worker starting
        # meanwhile must not store those hits a second time.
        if not committer.writing():
            self.journal.close(all_stored=all_stored)
            if all_stored:  # nothing left for the counting job to wait for
                pool.submit(JournalMark.objects.filter(journal__in=committer.marked()).delete).result()
        if isinstance(committer.write_batch, SQLiteWriter):
            committer.write_batch.close()


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


