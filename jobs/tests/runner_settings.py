"""Settings of the `run_jobs` processes the tests start (test_runners.py): the real configuration (SQLite in
WAL mode in BYLINE_VAR_DIR, or DATABASE_URL), plus a job made for the tests (runner_app)."""

from byline.settings.base import *  # noqa: F403

SECRET_KEY = "jobs-runner-tests-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
INSTALLED_APPS = [*INSTALLED_APPS, "jobs.tests.runner_app"]  # noqa: F405
