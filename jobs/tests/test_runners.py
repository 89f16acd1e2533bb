"""Real runners (`manage.py run_jobs` processes) on one database: SQLite in WAL mode in a temporary var dir,
or PostgreSQL in a database of its own when DATABASE_URL is set.

- Two runners at once publish a scheduled story exactly once and count every pixel hit exactly once: each
  job's period is enqueued by one of them and run by one worker.
- A slow job on the slow queue never holds up counting on the quick queue.
- A runner stopped (SIGTERM, past its grace) or killed (SIGKILL) in the middle of a job hands the job on:
  at once when stopped, after JOBS_RUNNER_TIMEOUT when killed; the next runner runs it to the end.
"""

import signal
import textwrap

import pytest

from .processes import JobRunner, JobsDatabase, environment, manage, shell_json, wait_until

HITS = 300


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("migrated")
    db = JobsDatabase(var_dir)
    try:
        manage(environment(var_dir, db.create()), "migrate", "--noinput", "-v0")
        yield db
    finally:
        db.drop()


@pytest.fixture
def database(migrated, tmp_path):
    """A copy of the migrated database; call it with the runners' extra environment variables."""
    made = []

    def make(**extra):
        var_dir = tmp_path / "var"
        var_dir.mkdir()
        db = JobsDatabase(var_dir)
        made.append(db)
        return db, environment(var_dir, db.create(template=migrated), **extra)

    yield make
    for db in made:
        db.drop()


@pytest.fixture
def runners(tmp_path):
    """Start runners with `runners.start(env, *args)`; whatever is left running is killed at the end."""

    class Runners(list):
        def start(self, env, *args):
            runner = JobRunner(env, tmp_path / f"runner-{len(self) + 1}.log", *args).start()
            self.append(runner)
            return runner

    started = Runners()
    yield started
    for runner in started:
        runner.kill()


SETUP = """
import json
from datetime import timedelta
from django.utils import timezone
from stories.factories import SectionPageFactory, StoryPageFactory
from stories.models import HomePage
from tracking.models import Hit

news = SectionPageFactory(parent=HomePage.objects.first(), title="News", slug="news")
read = StoryPageFactory(parent=news, title="A story readers read", slug="read")
scheduled = {}
for slug, seconds in (("now", -60), ("soon", 3)):
    draft = StoryPageFactory(parent=news, title=f"Embargoed {slug}", slug=slug, live=False, first_published_at=None)
    draft.go_live_at = timezone.now() + timedelta(seconds=seconds)
    scheduled[draft.pk] = draft.save_revision(approved_go_live_at=draft.go_live_at).pk
print(json.dumps({"read": read.pk, "scheduled": scheduled}))
"""


def add_hits(env, story_id, count, seconds_ago=0):
    """`count` distinct readers' hits on `story_id`, received `seconds_ago`, as the pixel stores them."""
    manage(env, "shell", "-c", textwrap.dedent(f"""
        from datetime import timedelta
        from django.utils import timezone
        from tracking.models import Hit
        at = timezone.now() - timedelta(seconds={seconds_ago})
        Hit.objects.bulk_create(Hit(received_at=at, story_id={story_id}, via="html", copy="https://partner.example/",
                                    visitor=f"reader-{{n}}") for n in range({count}))
    """))


def counted(db, story_id):
    """(hits stored, hits in the rollups) of the story."""
    return (db.value(f"SELECT COUNT(*) FROM tracking_hit WHERE story_id = {story_id} AND filtered = ''"),
            db.value(f"SELECT COALESCE(SUM(hits), 0) FROM tracking_rollup WHERE story_id = {story_id}"))


def finished_periods(db, job):
    """How many periods of `job` were enqueued and have finished running."""
    return db.value(
        "SELECT COUNT(*) FROM jobs_jobperiod p JOIN django_tasks_database_dbtaskresult t ON t.id = p.task_id "
        f"WHERE p.job = '{job}' AND t.status IN ('SUCCESSFUL', 'FAILED')")


def hold_status(db):
    """The status of the slow test job's run (jobs/tests/runner_app), None before it is enqueued."""
    rows = db.rows("SELECT status FROM django_tasks_database_dbtaskresult "
                   "WHERE CAST(args_kwargs AS TEXT) LIKE '%test_hold%'")
    assert len(rows) <= 1, rows
    return rows[0][0] if rows else None


RUNS = """
import json
from collections import Counter
from django_tasks_db.models import DBTaskResult
from jobs.models import JobPeriod
from wagtail.models import PageLogEntry, Revision
from stories.models import StoryPage

runs = {}
for result in DBTaskResult.objects.all():
    name = result.args_kwargs["kwargs"]["name"]
    runs.setdefault(name, []).append([result.status, len(result.worker_ids), str(result.id)])
periods = {}
for period in JobPeriod.objects.exclude(task_id=None):
    periods.setdefault(period.job, []).append(str(period.task_id))
stories = {}
for story in StoryPage.objects.exclude(slug="read"):
    stories[story.slug] = {
        "live": story.live, "live_revision": story.live_revision_id,
        "revisions": Revision.objects.filter(object_id=str(story.pk)).count(),
        "published": PageLogEntry.objects.filter(page=story, action="wagtail.publish.scheduled").count(),
        "schedule_left": Revision.objects.filter(object_id=str(story.pk), approved_go_live_at__isnull=False).count(),
    }
claimed_by = sorted(set(JobPeriod.objects.values_list("claimed_by", flat=True)))
print(json.dumps({"runs": runs, "periods": periods, "stories": stories, "claimed_by": claimed_by}))
"""


def test_two_runners_publish_each_scheduled_story_once_and_count_each_hit_once(database, runners):
    db, env = database(BYLINE_JOBS_EVERY="publish_scheduled=2,count_hits=2")
    content = shell_json(env, SETUP)
    story = content["read"]
    add_hits(env, story, HITS, seconds_ago=60)

    both = [runners.start(env), runners.start(env)]
    wait_until(lambda: db.value("SELECT COUNT(*) FROM wagtailcore_page WHERE live AND slug IN ('now', 'soon')") == 2,
               "both scheduled stories are live", both)
    add_hits(env, story, HITS)  # more readers while the runners run
    wait_until(lambda: counted(db, story) == (2 * HITS, 2 * HITS), "every hit is counted", both)
    # Two more counting periods after that, run by either runner, count nothing again.
    seen = finished_periods(db, "count_hits")
    wait_until(lambda: finished_periods(db, "count_hits") >= seen + 2, "two more counting periods", both)
    assert counted(db, story) == (2 * HITS, 2 * HITS)
    assert [runner.stop() for runner in both] == [0, 0]

    report = shell_json(env, RUNS)
    for slug, revision in zip(("now", "soon"), content["scheduled"].values(), strict=True):
        assert report["stories"][slug] == {"live": True, "live_revision": revision, "revisions": 1, "published": 1,
                                           "schedule_left": 0}, slug
    # Each period of each job was enqueued once and each run ran once, by one worker of one runner.
    for job, task_ids in report["periods"].items():
        assert sorted(task_ids) == sorted(run[2] for run in report["runs"][job]), job
        assert all(run[:2] == ["SUCCESSFUL", 1] for run in report["runs"][job]), (job, report["runs"][job])
    assert len(report["periods"]["count_hits"]) >= 3 and len(report["periods"]["publish_scheduled"]) >= 2
    # Both runners were there to try: whichever lost a period's race says so in its log.
    assert "is already claimed" in both[0].log() + both[1].log()


def test_a_slow_job_does_not_hold_up_counting(database, runners, tmp_path):
    (tmp_path / "hold").touch()
    db, env = database(BYLINE_JOBS_EVERY="count_hits=1", BYLINE_JOBS_TEST_DIR=str(tmp_path))
    story = shell_json(env, SETUP)["read"]
    runner = runners.start(env)
    wait_until(lambda: (tmp_path / "started-1").exists(), "the slow job starts", [runner])

    add_hits(env, story, HITS)
    wait_until(lambda: counted(db, story) == (HITS, HITS), "the hits are counted", [runner])
    assert hold_status(db) == "RUNNING" and not (tmp_path / "finished").exists()

    (tmp_path / "hold").unlink()
    wait_until(lambda: hold_status(db) == "SUCCESSFUL", "the slow job finishes", [runner])
    assert runner.stop() == 0


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_a_job_whose_runner_stops_mid_way_is_run_again_by_the_next_runner(database, runners, tmp_path, how):
    (tmp_path / "hold").touch()
    db, env = database(BYLINE_JOBS_TEST_DIR=str(tmp_path), BYLINE_JOBS_RUNNER_TIMEOUT="2")
    first = runners.start(env, "--grace", "0.5")
    wait_until(lambda: (tmp_path / "started-1").exists(), "the slow job starts", [first])

    if how == "stopped":
        assert first.stop(signal.SIGTERM) == 0  # the grace runs out: the job goes back to the queue
        assert hold_status(db) == "READY"
        assert "Abandoned task" in first.log()
    else:
        first.stop(signal.SIGKILL)
        assert hold_status(db) == "RUNNING"  # until the others see that its runner is gone

    second = runners.start(env)
    wait_until(lambda: (tmp_path / "started-2").exists(), "the next runner runs the job again", [second])
    (tmp_path / "hold").unlink()
    wait_until(lambda: hold_status(db) == "SUCCESSFUL", "the job finishes", [second])
    assert db.value("SELECT COUNT(*) FROM jobs_jobperiod WHERE job = 'test_hold'") == 1
    assert second.stop() == 0
