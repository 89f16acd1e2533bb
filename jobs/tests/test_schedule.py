"""Once per period: however many runners tick, and however often, a job's period is enqueued once."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

import jobs
from jobs.models import JobPeriod
from jobs.runner import QueueWorker
from jobs.scheduler import Scheduler, period_start, schedule

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
calls = []


def note_call():
    calls.append("ran")


@pytest.fixture
def job():
    calls.clear()
    yield jobs.register("test_minutely", function="jobs.tests.test_schedule.note_call", every=60)
    jobs.unregister("test_minutely")


def runs(name="test_minutely"):
    return DBTaskResult.objects.filter(args_kwargs__kwargs__name=name)


def work():
    """Run what is queued, as a runner's workers would, without its clock."""
    for queue in jobs.QUEUES:
        QueueWorker(queue, "test-runner").drain()


def test_a_period_is_enqueued_once(job):
    first = schedule(job, NOON + timedelta(seconds=5), runner_id="host-a")
    assert first is not None and first.task_id is not None
    assert schedule(job, NOON + timedelta(seconds=5), runner_id="host-b") is None
    assert schedule(job, NOON + timedelta(seconds=59), runner_id="host-a") is None
    assert runs().count() == 1
    period = JobPeriod.objects.get(job="test_minutely")
    assert (period.starts_at, period.claimed_by, str(period.task_id)) == (NOON, "host-a", str(runs().get().id))


def test_two_runners_ticking_at_once_enqueue_one_run(job):
    one, other = Scheduler("host-a"), Scheduler("host-b")
    enqueued = one.tick(NOON + timedelta(seconds=1)) + other.tick(NOON + timedelta(seconds=1))
    assert enqueued.count(job) == 1
    assert runs().count() == 1


def test_a_runner_tries_each_period_only_once(job):
    scheduler = Scheduler("host-a")
    scheduler.tick(NOON)
    JobPeriod.objects.all().delete()  # even if the row went away, this runner does not try the period again
    scheduler.tick(NOON + timedelta(seconds=30))
    assert runs().count() == 1


def test_the_next_period_is_enqueued_again(job):
    schedule(job, NOON)
    work()
    assert calls == ["ran"]
    assert schedule(job, NOON + timedelta(minutes=1)).task_id is not None
    assert runs().count() == 2


def test_no_second_run_is_enqueued_while_the_last_one_has_not_run(job):
    schedule(job, NOON)
    late = schedule(job, NOON + timedelta(minutes=1))
    assert late is not None and late.task_id is None  # the period is claimed, nothing more queued
    assert runs().count() == 1


def test_periods_are_counted_from_the_epoch_so_every_host_names_the_same_ones(job, settings):
    assert period_start(job, NOON + timedelta(seconds=59, microseconds=999)) == NOON
    settings.JOBS_EVERY = {"test_minutely": 600}
    assert period_start(job, datetime(2026, 11, 20, 12, 19, 59, tzinfo=UTC)) == NOON + timedelta(minutes=10)


def test_a_setting_changes_a_jobs_period(job, settings):
    assert job.period == 60
    settings.JOBS_EVERY = {"test_minutely": 15}
    assert job.period == 15


def test_once_enqueues_the_period_and_runs_it(job):
    call_command("run_jobs", "--once")
    assert calls == ["ran"]
    assert runs().get().status == "SUCCESSFUL"
    call_command("run_jobs", "--once")  # the same minute: already done
    assert calls == ["ran"]


def test_every_app_registers_its_jobs():
    assert {(job.name, job.period, job.queue) for job in jobs.registered()} >= {
        ("publish_scheduled", 60, jobs.QUICK),
        ("count_hits", 60, jobs.QUICK),
        ("switch_appeals", 60, jobs.QUICK),
        ("count_appeals", 60, jobs.QUICK),
        ("verify_due_copies", 600, jobs.SLOW),
        ("prune_jobs", 3600, jobs.SLOW),
    }


def test_help_lists_every_job_with_its_period_and_queue(capsys):
    with pytest.raises(SystemExit):
        call_command("run_jobs", "--help", stdout=io.StringIO())
    text = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in text.splitlines() if line.startswith("  ") and "every" in line}
    assert lines["publish_scheduled"][1:4] == ["every", "1", "min"] and lines["publish_scheduled"][4] == "quick"
    assert lines["count_hits"][4] == "quick"
    assert lines["verify_due_copies"][1:5] == ["every", "10", "min", "slow"]
    assert "Count new pixel hits" in text  # the command's own help describes it


@pytest.mark.parametrize("kwargs", [
    {"every": 60},  # neither command nor function
    {"every": 60, "command": "count_hits", "function": "jobs.tasks.prune"},
    {"every": 60, "command": "count_hits", "queue": "medium"},
    {"every": 0.5, "command": "count_hits"},
])
def test_a_job_must_say_what_to_run_where_and_every_whole_second(kwargs):
    with pytest.raises(ValueError):
        jobs.register("test_bad", **kwargs)
    with pytest.raises(KeyError):
        jobs.get("test_bad")
