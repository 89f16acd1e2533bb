"""Every run of a periodic job is one django-tasks task, `run_job(name)`, on the "jobs" backend.

A failed run is retried: the failing run enqueues the next attempt to run JOBS_RETRY_DELAY seconds later
(doubling each time) and is recorded as failed with its traceback, so every attempt's failure stays visible
in the admin. After `max_attempts` the job waits for its next period.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from . import registry
from .registry import BACKEND, QUICK

logger = logging.getLogger("jobs")


@task(backend=BACKEND, queue_name=QUICK)
def run_job(name, attempt=1):
    job = registry.get(name)
    try:
        job.run()
    except Exception:
        if attempt < job.max_attempts:
            delay = settings.JOBS_RETRY_DELAY * 2 ** (attempt - 1)
            enqueue(job, attempt=attempt + 1, run_after=timezone.now() + timedelta(seconds=delay))
            logger.warning("Job %s failed (attempt %d of %d); trying again in %g s.", name, attempt,
                           job.max_attempts, delay, exc_info=True)
        else:
            logger.exception("Job %s failed (attempt %d of %d); next try in its next period.", name, attempt,
                             job.max_attempts)
        raise


def enqueue(job, attempt=1, run_after=None):
    return run_job.using(queue_name=job.queue, run_after=run_after).enqueue(name=job.name, attempt=attempt)


def job_name(db_result):
    """The job a task result ran, for lists of results; other tasks on the backend by their own name."""
    if db_result.task_path == run_job.module_path:
        return db_result.args_kwargs.get("kwargs", {}).get("name", "?")
    return db_result.task_name


def prune():
    """Forget finished runs after JOBS_KEEP_DAYS, and periods and runners nobody needs any more."""
    from django_tasks_db.models import DBTaskResult

    from .models import JobPeriod, Runner

    now = timezone.now()
    DBTaskResult.objects.finished().filter(
        backend_name=BACKEND, finished_at__lt=now - timedelta(days=settings.JOBS_KEEP_DAYS)).delete()
    # A period's row only has to outlive the period itself.
    longest = max((job.period for job in registry.registered()), default=0)
    JobPeriod.objects.filter(starts_at__lt=now - timedelta(seconds=2 * longest) - timedelta(days=1)).delete()
    Runner.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()
