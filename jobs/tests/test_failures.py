"""A failing job is tried again with backoff, then recorded as failed with its traceback, in the admin;
a job whose runner stopped being seen is run again by another."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

import jobs
from accounts.models import User
from jobs.factories import RunnerFactory
from jobs.runner import QueueWorker
from jobs.scheduler import recover, schedule
from jobs.tasks import enqueue

pytestmark = pytest.mark.django_db
attempts = []


def fail_every_time():
    attempts.append("tried")
    raise RuntimeError("the partner's server said no")


def fail_the_first_time():
    attempts.append("tried")
    if len(attempts) == 1:
        raise RuntimeError("a passing hiccup")


@pytest.fixture
def register():
    attempts.clear()
    names = []

    def register(name, function, **kwargs):
        names.append(name)
        return jobs.register(name, function=f"jobs.tests.test_failures.{function}", every=60, **kwargs)

    yield register
    for name in names:
        jobs.unregister(name)


def runs(name):
    """The job's runs, first attempt first."""
    return list(DBTaskResult.objects.filter(args_kwargs__kwargs__name=name).order_by("args_kwargs__kwargs__attempt"))


def test_a_failing_job_is_tried_three_times_then_recorded_as_failed(register, settings):
    settings.JOBS_RETRY_DELAY = 0
    register("test_broken", "fail_every_time")
    call_command("run_jobs", "--once")

    assert attempts == ["tried"] * 3
    results = runs("test_broken")
    assert [(r.args_kwargs["kwargs"]["attempt"], r.status) for r in results] == [
        (1, "FAILED"), (2, "FAILED"), (3, "FAILED")]
    assert all("RuntimeError: the partner's server said no" in r.traceback for r in results)
    assert all(r.exception_class_path == "builtins.RuntimeError" for r in results)


def test_the_number_of_attempts_is_a_setting_and_a_job_may_set_its_own(register, settings):
    settings.JOBS_RETRY_DELAY, settings.JOBS_ATTEMPTS = 0, 2
    register("test_broken", "fail_every_time")
    call_command("run_jobs", "--once")
    assert len(runs("test_broken")) == 2

    attempts.clear()
    register("test_fragile", "fail_every_time", attempts=1)
    call_command("run_jobs", "--once")
    assert [r.status for r in runs("test_fragile")] == ["FAILED"]
    assert attempts == ["tried"]


def test_a_job_that_fails_once_succeeds_on_its_second_attempt(register, settings):
    settings.JOBS_RETRY_DELAY = 0
    register("test_flaky", "fail_the_first_time")
    call_command("run_jobs", "--once")
    assert [r.status for r in runs("test_flaky")] == ["FAILED", "SUCCESSFUL"]


def test_retries_wait_longer_each_time(register, settings):
    settings.JOBS_RETRY_DELAY = 30
    job = register("test_broken", "fail_every_time")
    schedule(job)
    worker = QueueWorker(jobs.QUICK, "test-runner")

    started = timezone.now()
    worker.drain()
    retry = runs("test_broken")[-1]
    assert retry.status == "READY" and len(attempts) == 1  # not yet: it waits 30 s
    assert timedelta(seconds=29) < retry.run_after - started < timedelta(seconds=31)

    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())  # as if 30 s had passed
    started = timezone.now()
    worker.drain()
    retry = runs("test_broken")[-1]
    assert retry.args_kwargs["kwargs"]["attempt"] == 3
    assert timedelta(seconds=59) < retry.run_after - started < timedelta(seconds=61)


def test_the_failure_and_its_traceback_are_in_the_admin(register, settings, admin_client):
    settings.JOBS_RETRY_DELAY = 0
    register("test_broken", "fail_every_time", attempts=2)
    call_command("run_jobs", "--once")
    changelist = reverse("admin:django_tasks_database_dbtaskresult_changelist")

    listing = admin_client.get(changelist, {"status__exact": "FAILED"}).content.decode()
    assert "test_broken (attempt 2)" in listing and "test_broken" in listing

    last = runs("test_broken")[-1]
    page = admin_client.get(reverse("admin:django_tasks_database_dbtaskresult_change", args=[last.pk]))
    assert "RuntimeError: the partner&#x27;s server said no" in page.content.decode()


def test_wagtails_settings_menu_leads_superusers_to_the_job_results(admin_client):
    changelist = reverse("admin:django_tasks_database_dbtaskresult_changelist")
    assert changelist in admin_client.get(reverse("wagtailadmin_home")).content.decode()


def test_editors_do_not_see_the_job_results(client):
    editor = User.objects.create_user("editor", "editor@example.org", "pw")
    editor.groups.add(Group.objects.get(name="Editors"))
    client.force_login(editor)
    response = client.get(reverse("wagtailadmin_home"))
    assert response.status_code == 200
    assert reverse("admin:django_tasks_database_dbtaskresult_changelist") not in response.content.decode()


def started_by(runner_id, minutes_ago):
    task = DBTaskResult.objects.get(pk=enqueue(jobs.get("count_hits")).id)
    task.claim(f"{runner_id}/quick")
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=timezone.now() - timedelta(minutes=minutes_ago))
    return task


def test_a_job_whose_runner_is_no_longer_seen_is_made_ready_again(settings):
    settings.JOBS_RUNNER_TIMEOUT = 60
    RunnerFactory(id="alive")
    RunnerFactory(id="gone", seen_at=timezone.now() - timedelta(minutes=5))
    orphan = started_by("gone", minutes_ago=5)
    running = started_by("alive", minutes_ago=5)  # a long job of a live runner is left alone
    just_started = started_by("never-seen", minutes_ago=0)  # too recent to tell

    assert recover() == 1
    statuses = dict(DBTaskResult.objects.values_list("pk", "status"))
    assert statuses[orphan.pk] == "READY"
    assert statuses[running.pk] == statuses[just_started.pk] == "RUNNING"
