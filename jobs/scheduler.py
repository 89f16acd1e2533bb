"""Once per period, however many runners are up.

Time is cut into periods of each job's length, counted from the Unix epoch, so every runner on every host
names the same periods. When a runner sees a period begin it tries to insert the row (job, period start)
into `JobPeriod` and, in the same transaction, to enqueue the run. The unique constraint on (job, starts_at)
lets exactly one of those transactions commit:

- PostgreSQL: a second insert of the same key waits for the first transaction; if that one commits, the
  second fails with a unique violation (IntegrityError), and if it rolls back, the second goes ahead. Either
  way one row, and the enqueued task is committed with it or not at all.
- SQLite: one write transaction at a time holds the database's lock (our settings BEGIN IMMEDIATE, and
  busy_timeout makes the others wait for it), so the second transaction starts after the first committed,
  sees its row, and fails on the same constraint.

Clocks that disagree only move a run within its period or to a neighbouring one; no key is ever claimed
twice. A run is not enqueued while the previous run of the same job is still waiting or running (a job
slower than its period does not pile up runs, nor run twice at once); the period is claimed all the same.

A runner that dies mid-job leaves its task RUNNING. Runners touch their `Runner` row as they go; a task
started more than JOBS_RUNNER_TIMEOUT seconds ago by a runner not seen for that long is made READY again
(`recover`), and any runner picks it up. Jobs are idempotent, so a second run of a half-done one is safe.
"""

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from . import registry
from .models import JobPeriod, Runner
from .registry import BACKEND
from .tasks import enqueue, run_job

logger = logging.getLogger("jobs")
READY, RUNNING = "READY", "RUNNING"


def period_start(job, now):
    seconds = job.period
    stamp = int(now.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, tz=UTC)


def unfinished(job):
    """Runs of `job` waiting (a retry included) or running."""
    return DBTaskResult.objects.filter(backend_name=BACKEND, task_path=run_job.module_path,
                                       status__in=[READY, RUNNING], args_kwargs__kwargs__name=job.name)


def schedule(job, now=None, runner_id=""):
    """Claim the period of `job` that contains `now` and enqueue its run; the JobPeriod row if this call
    claimed it (its task_id is None when the previous run was still unfinished), None if it was taken."""
    start = period_start(job, now or timezone.now())
    try:
        with transaction.atomic():
            period = JobPeriod.objects.create(job=job.name, starts_at=start, claimed_by=runner_id)
            if not unfinished(job).exists():
                period.task_id = enqueue(job).id
                period.save(update_fields=["task_id"])
    except IntegrityError:
        logger.debug("The period of %s starting %s is already claimed.", job.name, start)
        return None
    if period.task_id:
        logger.debug("Enqueued %s for the period starting %s.", job.name, start)
    else:
        logger.info("Skipped %s for the period starting %s: its previous run has not finished.", job.name, start)
    return period


def recover(now=None):
    """Make READY again the tasks that runners no longer seen had started; how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOBS_RUNNER_TIMEOUT)
    alive = set(Runner.objects.filter(seen_at__gte=cutoff).values_list("id", flat=True))
    recovered = 0
    stale = DBTaskResult.objects.filter(backend_name=BACKEND, status=RUNNING, started_at__lt=cutoff)
    for task_id, started_at, worker_ids in stale.values_list("id", "started_at", "worker_ids"):
        runner_id = worker_ids[-1].rpartition("/")[0] if worker_ids else ""
        if runner_id in alive:
            continue
        # Only if nobody else recovered (and restarted) it meanwhile.
        recovered += DBTaskResult.objects.filter(id=task_id, status=RUNNING, started_at=started_at).update(
            status=READY)
    if recovered:
        logger.warning("Made %d task(s) of stopped runners ready to run again.", recovered)
    return recovered


def release(task_id):
    """Hand a task this runner is abandoning to the others at once."""
    return DBTaskResult.objects.filter(id=task_id, status=RUNNING).update(status=READY)


class Scheduler:
    """One runner's clock: claims each job's periods as they begin."""

    def __init__(self, runner_id=""):
        self.runner_id = runner_id
        self.tried = {}  # job name -> the last period start this runner tried to claim

    def tick(self, now=None):
        """Recover abandoned tasks, then try each job whose period began since the last tick; the runs
        this tick enqueued."""
        now = now or timezone.now()
        recover(now)
        enqueued = []
        for job in registry.registered():
            start = period_start(job, now)
            if self.tried.get(job.name) == start:
                continue
            period = schedule(job, now, self.runner_id)
            # Remembered only once the attempt is over: if the database was locked, the next tick tries again.
            self.tried[job.name] = start
            if period is not None and period.task_id:
                enqueued.append(job)
        return enqueued
