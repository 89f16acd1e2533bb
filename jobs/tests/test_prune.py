"""The prune_jobs job forgets finished runs after JOBS_KEEP_DAYS, past periods and runners long gone."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

import jobs
from jobs.factories import JobPeriodFactory, RunnerFactory
from jobs.models import JobPeriod, Runner
from jobs.tasks import enqueue, prune

pytestmark = pytest.mark.django_db


def run(status, days_ago):
    result = DBTaskResult.objects.get(pk=enqueue(jobs.get("count_hits")).id)
    finished_at = timezone.now() - timedelta(days=days_ago) if status != "READY" else None
    DBTaskResult.objects.filter(pk=result.pk).update(status=status, finished_at=finished_at)
    return result.pk


def test_finished_runs_are_kept_for_JOBS_KEEP_DAYS(settings):
    settings.JOBS_KEEP_DAYS = 14
    run("SUCCESSFUL", days_ago=15)
    run("FAILED", days_ago=15)
    recent_failure, waiting = run("FAILED", days_ago=13), run("READY", days_ago=0)
    prune()
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {recent_failure, waiting}


def test_past_periods_and_gone_runners_are_forgotten():
    now = timezone.now()
    JobPeriodFactory(job="count_hits", starts_at=now - timedelta(days=3))
    JobPeriodFactory(job="count_hits", starts_at=now)
    RunnerFactory(id="gone", seen_at=now - timedelta(days=2))
    RunnerFactory(id="here", seen_at=now)
    prune()
    assert list(JobPeriod.objects.values_list("starts_at", flat=True)) == [now]
    assert list(Runner.objects.values_list("id", flat=True)) == ["here"]
