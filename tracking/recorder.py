"""Group commit: many request threads, one writer, one transaction per batch, no hit answered before it is
on disk.

Each request thread hands its hit to the writer and waits. The writer takes everything that arrived while
the previous commit ran, writes it in one transaction and wakes the waiters. There is no linger timer: under
load batches grow by themselves, and an idle server commits a lone hit at once. A crash can only lose hits
whose requests have not been answered yet.
"""

import logging
import threading

from django.db import close_old_connections, connection, transaction

logger = logging.getLogger(__name__)


class _Waiter:
    __slots__ = ("event", "ok")

    def __init__(self):
        self.event, self.ok = threading.Event(), False


class GroupCommitRecorder:
    def __init__(self, write_batch, max_batch=5000):
        self.write_batch = write_batch
        self.max_batch = max_batch
        self._pending = []
        self._condition = threading.Condition()
        self._thread = None
        self._stopping = False

    def record(self, row, timeout=10.0):
        """Queue `row` and wait until it is committed; False if it could not be written in time."""
        waiter = _Waiter()
        with self._condition:
            self._pending.append((row, waiter))
            if self._thread is None or not self._thread.is_alive():
                # Started on first use, so that each process started by a pre-forking server gets its own.
                self._thread = threading.Thread(target=self._run, name="hit-writer", daemon=True)
                self._thread.start()
            self._condition.notify()
        waiter.event.wait(timeout)
        return waiter.ok

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
                while not self._pending and not self._stopping:
                    self._condition.wait()
                if not self._pending:
                    connection.close()
                    return
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
            ok = self._write([row for row, _ in batch])
            for _, waiter in batch:
                waiter.ok = ok
                waiter.event.set()

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
