"""Verification as background tasks (django-tasks, which Wagtail 8 ships).

`verify_copy` checks one copy. The schedule (`verify_due_copies`, a job on `run_jobs`' slow queue) and the
admin's "Check now" enqueue it. On the "default" task backend (settings.TASKS), django-tasks' ImmediateBackend
runs each task at once in the process that enqueued it (the job runner's slow thread, or the admin request).
"""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django_tasks import task

from .runner import Verifier, due_targets, target_from_key


def _queued_key(key):
    return f"verify:queued:{key}"


@task()
def verify_copy(key):
    """Verify the copy `key` ("copy:12" or "manual:3") now; its status, or None if it no longer exists."""
    try:
        target = target_from_key(key)
        if target is None:
            return None
        verification = Verifier().verify(target)
        return None if verification is None else {"id": verification.pk, "status": verification.status}
    finally:
        cache.delete(_queued_key(key))


def enqueue(targets):
    """Enqueue a check of each target not already waiting in a queue; the task results."""
    hold = int(float(getattr(settings, "VERIFY_INTERVAL_HOURS", 24)) * 3600)
    results = []
    for target in targets:
        if cache.add(_queued_key(target.key), 1, timeout=hold):
            results.append(verify_copy.enqueue(target.key))
    return results


def enqueue_due(limit=None, budget_seconds=None, now=None):
    """The scheduled run: enqueue the copies whose turn has come, longest waiting first, stopping after
    `limit` copies or once `budget_seconds` have passed (which only matters when tasks run immediately)."""
    started = timezone.now()
    results = []
    for target in due_targets(limit=limit, now=now):
        if budget_seconds is not None and timezone.now() - started > timedelta(seconds=budget_seconds):
            break
        results += enqueue([target])
    return results
