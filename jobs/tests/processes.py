"""Real `run_jobs` processes on a database of the test's own, started the way tracking/tests/test_crash.py
starts its servers (and with its helpers): a SQLite file in a temporary var dir, or, when DATABASE_URL is
set, a PostgreSQL database of its own, created and dropped here."""

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from urllib.parse import urlsplit, urlunsplit

from tracking.tests.test_crash import PYTHON, ROOT, Database, manage

__all__ = ["JobRunner", "JobsDatabase", "environment", "manage", "shell_json", "wait_until"]


class JobsDatabase(Database):
    """Migrating takes a quarter of a minute, so each test gets a copy of a database migrated once: a copy of
    the SQLite file, or a PostgreSQL database made with the migrated one as its template."""

    def create(self, template=None):
        if not self.postgres:
            if template is not None:
                for suffix in ("", "-wal"):
                    source = template.var_dir / f"byline.sqlite3{suffix}"
                    if source.exists():
                        shutil.copy(source, self.var_dir / source.name)
            return None
        import psycopg

        self.name = f"byline_jobs_{secrets.token_hex(4)}"
        clause = f" TEMPLATE {template.name}" if template is not None else ""
        with psycopg.connect(self._admin_url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE DATABASE {self.name}{clause}")
        parts = urlsplit(self.base_url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{self.name}", parts.query, ""))

    def value(self, sql):
        return self.rows(sql)[0][0]


def environment(var_dir, url, **extra):
    """What a runner on that database is started with: jobs/tests/runner_settings.py, and `extra` variables."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "jobs.tests.runner_settings",
        "BYLINE_VAR_DIR": str(var_dir),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    })
    if url:
        env["DATABASE_URL"] = url
    env.update(extra)
    return env


def shell_json(env, code):
    """Run `code` in `manage.py shell` on the test's database; the JSON it prints on its last line."""
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


class JobRunner:
    """`manage.py run_jobs` in a process group of its own, its log in a file."""

    def __init__(self, env, log_path, *args):
        self.env, self.log_path, self.args = env, log_path, args
        self.proc = None

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [PYTHON, "manage.py", "run_jobs", "-v", "2", "--poll", "0.2", *self.args], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Send `sig` and wait for the exit; the exit status."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"run_jobs did not stop within {timeout} s of {sig!r}:\n{self.log()}") from None

    def kill(self):
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def log(self):
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-4000:]
        return ""


def wait_until(condition, what, runners=(), timeout=60):
    """Poll `condition` until it returns something true (returned), failing after `timeout` seconds or as
    soon as one of `runners` has exited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        for runner in runners:
            assert runner.alive(), f"run_jobs exited ({runner.proc.returncode}) before {what}:\n{runner.log()}"
        if time.monotonic() > deadline:
            logs = "\n".join(runner.log() for runner in runners)
            raise AssertionError(f"not within {timeout} s: {what}\n{logs}")
        time.sleep(0.05)
