"""Group commit: many requests, one writer thread, one transaction per batch, no hit answered before it is
on disk.

Each request hands its hit to the writer and waits: a request thread (WSGI) on the batch's event, a coroutine
(the RSGI endpoint) on the batch's future. The writer takes everything that arrived while the previous commit
ran, writes it in one transaction and wakes the whole batch at once: one event, or one call into each event
loop, per batch rather than per hit. There is no linger timer: under load batches grow by themselves, and an
idle server commits a lone hit at once. A crash can only lose hits whose requests have not been answered yet.
"""

import asyncio
import logging
import threading

from django.db import close_old_connections, connection, transaction

logger = logging.getLogger(__name__)


class _Batch:
    """Hits committed together, and everyone waiting for them."""

    __slots__ = ("rows", "ok", "done", "futures")

    def __init__(self):
        self.rows = []
        self.ok = False
        self.done = None  # threading.Event, made for the first waiting thread
        self.futures = None  # {event loop: (future, timeout handle)}, made for the first waiting coroutine

    def future(self, loop, timeout):
        if self.futures is None:
            self.futures = {}
        entry = self.futures.get(loop)
        if entry is None:
            future = loop.create_future()
            # One timer per batch, not per hit: a writer stuck on a locked database answers 503, not never.
            entry = self.futures[loop] = (future, loop.call_later(timeout, _settle, future, False, None))
        return entry[0]

    def finish(self, ok):
        self.ok = ok
        if self.done is not None:
            self.done.set()
        if self.futures:
            for loop, (future, timer) in self.futures.items():
                try:
                    loop.call_soon_threadsafe(_settle, future, ok, timer)
                except RuntimeError:  # that loop is closed: nobody is waiting there any more
                    pass


def _settle(future, ok, timer):
    if timer is not None:
        timer.cancel()
    if not future.done():
        future.set_result(ok)


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
            if batch.done is None:
                batch.done = threading.Event()
            done = batch.done
        return done.wait(timeout) and batch.ok

    async def record_async(self, row, timeout=10.0):
        """The same for a coroutine: the event loop goes on serving other requests while the batch commits."""
        loop = asyncio.get_running_loop()
        with self._condition:
            future = self._join(row).future(loop, timeout)
        return await future

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
                    self.write_batch(rows)
                return True
            except Exception:
                logger.exception("Could not write %d pixel hits (attempt %d)", len(rows), attempt)
                close_old_connections()
                connection.close()
        return False
