"""The job runner: Byline's periodic jobs, each run once per period on a queue in the database.

Apps register their jobs from their `AppConfig.ready()`:

    from jobs import QUICK, register
    register("count_hits", command="count_hits", every=60, queue=QUICK)

`python manage.py run_jobs` (one per host, or several: they share the work) enqueues every job once per
period (`jobs.scheduler`) and works both queues in threads of its own (`jobs.runner`): QUICK for what readers
and editors wait on (publishing, counting), SLOW for what may take minutes (checking partners' copies), so
that a slow job never holds up a quick one. Each run is a django-tasks task (`jobs.tasks.run_job`) on the
"jobs" backend (django-tasks-db), retried with backoff when it fails; its result and traceback are in the
Django admin (Settings → Jobs in Wagtail's menu).

This app imports none of the feature apps: they depend on it, not the other way round.
"""

from .registry import QUEUES, QUICK, SLOW, Job, get, register, registered, unregister

__all__ = ["QUEUES", "QUICK", "SLOW", "Job", "get", "register", "registered", "unregister"]
