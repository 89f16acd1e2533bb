"""A revoked key stops working on every process within a second: two servers (granian, two workers each, as
production runs the site) share one database; the key is revoked with `manage.py partners revoke` while they
run, and from then on both answer 404 to every request, after at most one second."""

import contextlib
import http.client
import json
import os
import signal
import subprocess
import time

import pytest

from tracking.tests.test_crash import ROOT, SECRET, Database, free_port, granian_path, manage

pytestmark = pytest.mark.django_db(transaction=True)  # the servers read the database outside a test transaction


def feed_status(port, key):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"/partners/{key}/atom/", headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def start_server(env, log):
    port = free_port()
    proc = subprocess.Popen(
        [granian_path(), "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
         "--blocking-threads", "4", "--log-level", "warning", "--no-ws", "byline.wsgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"granian exited ({proc.returncode})"
        try:
            feed_status(port, "not-a-key")
            return proc, port
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    raise AssertionError(f"granian did not answer on {port}")


def test_a_revoked_key_answers_404_within_a_second_on_every_process(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    db = Database(var_dir)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "byline.settings.production", "SECRET_KEY": SECRET,
                "BYLINE_VAR_DIR": str(var_dir), "ALLOWED_HOSTS": "127.0.0.1", "PYTHONPATH": str(ROOT),
                "BYLINE_SITE_URL": "http://127.0.0.1:8000", "LOG_LEVEL": "ERROR"})
    procs = []
    try:
        url = db.create()
        if url:
            env["DATABASE_URL"] = url
        manage(env, "shell", "-c", "from django.core.management import call_command\n"
                                   "call_command('migrate', interactive=False, verbosity=0)\n"
                                   "call_command('load_demo', no_admin=True, verbosity=0)\n", timeout=600)
        key = json.loads(manage(env, "partners", "add", "Harbor Gazette", "--site", "harbor.example"))["key"]
        with open(tmp_path / "servers.log", "ab") as log:
            procs = [start_server(env, log) for _ in range(2)]
        ports = [port for _, port in procs]
        # Every worker has answered with the feed (several requests per server reach both its workers).
        assert {feed_status(port, key) for port in ports for _ in range(6)} == {200}

        manage(env, "partners", "revoke", "Harbor Gazette")
        revoked_at = time.monotonic()
        statuses = []
        while time.monotonic() - revoked_at < 1.0:
            statuses = [feed_status(port, key) for port in ports for _ in range(4)]
            if set(statuses) == {404}:
                break
        assert set(statuses) == {404}, f"still answering 1 s after the revocation: {statuses}"
        time.sleep(0.2)  # and it stays revoked
        assert {feed_status(port, key) for port in ports for _ in range(6)} == {404}
    finally:
        for proc, _ in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        db.drop()
