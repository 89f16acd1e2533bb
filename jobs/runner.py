"""A runner: the scheduler's clock and one worker per queue, each in a thread of its own.

Workers claim tasks the way django-tasks-db's `db_worker` does (an exclusive transaction on SQLite, SELECT
... FOR UPDATE SKIP LOCKED on PostgreSQL, so no two workers anywhere claim the same task) and record results
with its code, so results look the same in the admin whoever ran them.
"""

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from . import models
from .registry import BACKEND, QUEUES
from .scheduler import Scheduler, release

logger = logging.getLogger("jobs")


def new_runner_id():
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{get_random_string(6)}"


class QueueWorker:
    """Runs the tasks of one queue, one at a time."""

    def __init__(self, queue, runner_id):
        self.queue = queue
        self.worker_id = f"{runner_id}/{queue}"
        self.current = None  # the DBTaskResult being run, if any
        self._recorder = Worker(queue_names=[queue], interval=0, batch=True, backend_name=BACKEND,
                                startup_delay=False, max_tasks=None, worker_id=self.worker_id,
                                excluded_queue_names=[])

    def claim(self):
        tasks = DBTaskResult.objects.ready().filter(backend_name=BACKEND, queue_name=self.queue)
        # Looking costs nothing; on SQLite claiming takes the database's write lock, which the pixel waits for.
        if not tasks.exists():
            return None
        with exclusive_transaction(tasks.db):
            result = tasks.get_locked()
            if result is not None:
                result.claim(self.worker_id)
        return result

    def run_next(self):
        """Claim and run the next ready task; False if there was none."""
        result = self.claim()
        if result is None:
            return False
        self.current = result
        try:
            self._recorder.run_task(result)
        finally:
            self.current = None
        return True

    def drain(self):
        while self.run_next():
            pass


class Runner:
    def __init__(self, queues=QUEUES, poll=1.0, tick=1.0):
        self.id = new_runner_id()
        self.poll, self.tick_seconds = poll, tick
        self.scheduler = Scheduler(self.id)
        self.workers = [QueueWorker(queue, self.id) for queue in queues]
        self.stopping = threading.Event()
        self._wake = {queue: threading.Event() for queue in queues}
        self._threads = []
        self._seen = 0.0

    # The heartbeat other runners read to tell whether our running tasks are still ours.
    def _heartbeat(self, force=False):
        if force or time.monotonic() - self._seen >= settings.JOBS_RUNNER_TIMEOUT / 6:
            models.Runner.objects.update_or_create(
                id=self.id, defaults={"host": socket.gethostname(), "pid": os.getpid(), "seen_at": timezone.now()})
            self._seen = time.monotonic()

    def _leave(self):
        models.Runner.objects.filter(id=self.id).delete()

    def tick(self):
        self._heartbeat()
        for job in self.scheduler.tick():
            if job.queue in self._wake:  # this runner's worker starts it at once rather than at its next look
                self._wake[job.queue].set()

    def run_once(self):
        """One period of every job: claim the periods that have begun, then run what is ready, queue by queue."""
        self._heartbeat(force=True)
        # A slow job can outlast JOBS_RUNNER_TIMEOUT: keep telling the other runners (the next cron run) that
        # ours is alive. Not inside a caller's transaction (tests), which hides our Runner row from them anyway.
        if not connection.in_atomic_block:
            self._threads = [threading.Thread(target=self._loop, args=(self._heartbeat, self.tick_seconds, None),
                                              name="jobs-heartbeat", daemon=True)]
            self._threads[0].start()
        try:
            self.scheduler.tick()
            for worker in self.workers:
                worker.drain()
        finally:
            self.stop()
            self.wait(10)
            self._leave()

    def start(self):
        self._heartbeat(force=True)
        self._threads = [threading.Thread(target=self._loop, args=(self.tick, self.tick_seconds, None),
                                          name="jobs-scheduler", daemon=True)]
        self._threads += [threading.Thread(target=self._loop, args=(worker.run_next, self.poll, worker.queue),
                                           name=f"jobs-{worker.queue}", daemon=True) for worker in self.workers]
        for thread in self._threads:
            thread.start()
        logger.info("Runner %s started: queues %s.", self.id, ", ".join(w.queue for w in self.workers))

    def _loop(self, step, interval, queue):
        wake = self._wake.get(queue)
        try:
            while not self.stopping.is_set():
                close_old_connections()
                try:
                    busy = step()
                except DatabaseError:
                    # Locked, restarting, unreachable: try again shortly rather than stop the runner.
                    logger.warning("%s: database error; trying again.", threading.current_thread().name,
                                   exc_info=True)
                    busy = False
                if busy:
                    continue
                if wake is None:
                    self.stopping.wait(interval)
                else:
                    wake.wait(interval)
                    wake.clear()
        finally:
            connection.close()

    def stop(self):
        """Take no new task; the tasks running go on until they finish (see `wait`) or are abandoned."""
        self.stopping.set()
        for event in self._wake.values():
            event.set()

    def busy(self):
        return [worker for worker in self.workers if worker.current is not None]

    def alive(self):
        return all(thread.is_alive() for thread in self._threads)

    def wait(self, seconds, interrupted=lambda: False):
        """Wait up to `seconds` for the threads to finish their current step; True if they all did."""
        deadline = time.monotonic() + seconds
        for thread in self._threads:
            while thread.is_alive() and time.monotonic() < deadline and not interrupted():
                thread.join(0.1)
        return not any(thread.is_alive() for thread in self._threads)

    def abandon(self):
        """Give the tasks still running back to the queue, so another runner (or our next start) runs them
        again at once. Their work so far is rolled back with their connection when the process exits."""
        close_old_connections()  # the main thread's connection may have sat idle since the start
        abandoned = []
        for worker in self.busy():
            result = worker.current
            if result is not None and release(result.id):
                abandoned.append(result)
                logger.warning("Abandoned task %s (%s) on queue %s: it will run again.", result.id,
                               result.task_name, worker.queue)
        return abandoned

    def close(self):
        close_old_connections()
        self._leave()
        connection.close()
