"""A hit the server has answered for must survive a crash.

The real server (granian serving byline.wsgi's application over RSGI, as in production, and over WSGI, as
gunicorn or granian's WSGI interface would; production settings, its own database) takes a flood of pixel
requests from many threads, each request a distinct reader on a distinct partner page
(`?url=https://partner.example/p/<n>`, stored normalized in `tracking_hit.copy`). Mid-load the whole server
process group gets SIGKILL: no shutdown, no flush. The server is started again and takes more load. Then:

- every request that got the 200 GIF is in tracking_hit exactly once (requests cut off by the kill may or may
  not be there, but never twice);
- after `manage.py count_hits`, the rollups hold every stored hit of the story exactly once, and each answered
  page's copy counts exactly one hit; a second count_hits run changes nothing.

Runs on SQLite by default (a temporary var dir). When DATABASE_URL is set for the test run it runs on that
PostgreSQL server instead, in a database of its own (byline_crash_<random>) created and dropped here.
Never skipped: a missing granian is a failure.
"""

import contextlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from republish.pixel import sign  # only for a HEAD request, which records nothing
from tracking.pixel import GIF

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SECRET = "crash-test-secret-" + "k3y" * 12  # production refuses keys under 50 characters
LOADERS = 24  # client threads, each keeping one request in flight
KILL_AFTER = 400  # answered hits before the SIGKILL
AFTER_RESTART = 200  # answered hits after the restart
PARTNER = "https://partner.example/p/"
COUNT_SETTLE = 2  # seconds: younger hits are left for the counting job's next run (BYLINE_COUNT_SETTLE_SECONDS)
# The counting job also waits, up to BYLINE_COUNT_WAIT_SECONDS, for a pixel server whose journal mark is behind.
COUNT_WAIT = float(os.environ.get("BYLINE_COUNT_WAIT_SECONDS", "120"))
SERVER_START_TIMEOUT = 60  # seconds for granian to answer: generous, the machine may be slow and loaded
SETTLE_TIMEOUT = 60  # seconds for every stored hit to be settled (countable) once the servers have stopped
POLL = 0.05  # seconds between checks of a condition being waited for


def granian_path():
    candidate = Path(PYTHON).parent / "granian"
    found = str(candidate) if candidate.exists() else shutil.which("granian")
    assert found, "granian is not installed in the virtualenv (pip install -r requirements.txt)"
    return found


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pixel_request(port, path, n=None, method="GET", timeout=5, reader=None):
    """(status, body) of one pixel request on a fresh connection; n makes it a distinct page, and a distinct
    reader unless `reader` names one."""
    query = f"?url={quote(PARTNER + str(n), safe='')}" if n is not None else ""
    browser = n or 0 if reader is None else reader
    ua = (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.{browser}.0 "
          "Safari/537.36")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path + query, headers={"User-Agent": ua, "Accept": "image/*"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def site_response(port, path):
    """(status, body) of a page of the site, which the RSGI server runs in its pool of threads."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"User-Agent": "Mozilla/5.0", "Host": "127.0.0.1"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def gif_headers(port):
    """The headers of one GIF as the server sends them (a forged pixel of another story: recorded, not ours)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/pixel/999999/html/0000000000000000.gif", headers={"User-Agent": "Mozilla/5.0"})
        response = conn.getresponse()
        assert response.read() == GIF
        return {name.lower(): value for name, value in response.getheaders()}
    finally:
        conn.close()


class Database:
    """The test's own database: a SQLite file in the var dir, or a fresh PostgreSQL database."""

    prefix = "byline_crash"  # of the PostgreSQL database's name

    def __init__(self, var_dir):
        self.var_dir = var_dir
        self.base_url = os.environ.get("DATABASE_URL", "")
        self.name = None

    @property
    def postgres(self):
        return bool(self.base_url)

    def _admin_url(self):
        parts = urlsplit(self.base_url)
        return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))

    def create(self):
        if not self.postgres:
            return None
        import psycopg

        self.name = f"{self.prefix}_{secrets.token_hex(4)}"
        with psycopg.connect(self._admin_url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE DATABASE {self.name}")
        parts = urlsplit(self.base_url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{self.name}", parts.query, ""))

    def drop(self):
        if not self.name:
            return
        import psycopg

        with contextlib.suppress(Exception), psycopg.connect(self._admin_url(), autocommit=True,
                                                             connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def url(self):
        parts = urlsplit(self.base_url)
        return urlunsplit((parts.scheme, parts.netloc, f"/{self.name}", parts.query, ""))

    def rows(self, sql):
        if self.postgres:
            import psycopg

            with psycopg.connect(self.url(), connect_timeout=5) as conn:
                return conn.execute(sql).fetchall()
        conn = sqlite3.connect(self.var_dir / "byline.sqlite3", timeout=10)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()


class Server:
    def __init__(self, env, log_path, interface):
        self.env, self.log_path, self.interface = env, log_path, interface
        self.proc, self.port = None, None

    def start(self):
        self.port = free_port()
        # As the README runs each: WSGI with blocking threads, RSGI (the pixel server) on uvloop with granian's
        # Rust tasks.
        threads = (["--blocking-threads", "8"] if self.interface == "wsgi"
                   else ["--loop", "uvloop", "--task-impl", "rust"])
        cmd = [granian_path(), "--interface", self.interface, "--host", "127.0.0.1", "--port", str(self.port),
               "--workers", "2", *threads, "--log-level", "warning", "--no-ws", "byline.wsgi:application"]
        with open(self.log_path, "ab") as log:
            # Its own session, so that SIGKILL reaches the workers too.
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        # Ready when the pixel answers (polled until a deadline generous enough for a slow, loaded machine).
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        path = f"/pixel/1/html/{sign(1)}.gif"
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"granian exited ({self.proc.returncode}):\n{self.log()}"
            try:
                status, _ = pixel_request(self.port, path, method="HEAD", timeout=2)  # HEAD records nothing
                if status == 200:
                    return self.port
            except (OSError, http.client.HTTPException):  # not listening yet, or cut off while starting
                pass
            time.sleep(POLL)
        raise AssertionError(f"granian did not answer on port {self.port} within {SERVER_START_TIMEOUT} s:\n"
                             f"{self.log()}")

    def kill(self, sig=signal.SIGKILL):
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything left in the group
        self.proc = None

    def log(self):
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-3000:]
        return ""


class Load:
    """LOADERS threads, each sending one request after another to whichever port the server is on."""

    def __init__(self, path):
        self.path = path
        self.port = None
        self.lock = threading.Lock()
        self.next_n = 1000
        self.answered, self.refused, self.cut_off, self.other = set(), set(), set(), set()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(LOADERS)]

    def take(self):
        with self.lock:
            self.next_n += 1
            return self.next_n

    def worker(self):
        while not self.stop.is_set():
            port = self.port
            if port is None:
                # The server is being restarted: poll for its new port (set by the test once it answers) rather
                # than burn the CPU it needs to start.
                time.sleep(0.02)
                continue
            n = self.take()
            try:
                status, body = pixel_request(port, self.path, n)
            except ConnectionRefusedError:
                outcome = self.refused
                time.sleep(0.01)  # pacing, not waiting: while the server is down, don't spin on refused connects
            except (OSError, http.client.HTTPException):
                outcome = self.cut_off  # sent, then the connection died: may or may not be stored
                time.sleep(0.01)  # pacing, as above
            else:
                outcome = self.answered if status == 200 and body == GIF else self.other
            with self.lock:
                outcome.add(n)

    def count(self):
        with self.lock:
            return len(self.answered)

    def wait_for(self, answered, min_seconds, timeout=60):
        """Until `answered` hits have been answered (polled), and the load has run `min_seconds` at least: a
        deliberate minimum, so that the server is under sustained load (batches in flight) when it is killed."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.count() >= answered and time.monotonic() - start >= min_seconds:
                return
            time.sleep(POLL)
        raise AssertionError(f"only {self.count()} hits answered in {timeout} s (waiting for {answered})")

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)
        assert not any(t.is_alive() for t in self.threads), "a load thread hung"


def _utc(value):
    """A timestamp from the database (a datetime from PostgreSQL, text from SQLite) as an aware UTC datetime."""
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def wait_until_settled(db, timeout=SETTLE_TIMEOUT):
    """Until `count_hits` would count every stored hit (tracking.counting.settled_until): the newest hit is
    older than the settle time, and no fresh journal mark (a pixel server's "every hit I received before this
    is stored") is behind it. Polled until `timeout`, then a failure saying what is not settled."""
    from datetime import UTC, datetime, timedelta

    deadline = time.monotonic() + timeout
    while True:
        newest = db.rows("SELECT MAX(received_at) FROM tracking_hit")[0][0]
        if newest is None:
            return
        newest = _utc(newest)
        now = datetime.now(UTC)
        behind = [(journal, _utc(until)) for journal, until in db.rows(
            "SELECT journal, stored_until FROM tracking_journalmark WHERE stored_until IS NOT NULL")]
        behind = [(journal, until) for journal, until in behind
                  if until >= now - timedelta(seconds=COUNT_WAIT) and until <= newest]
        if now - timedelta(seconds=COUNT_SETTLE) > newest and not behind:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"stored hits not settled within {timeout} s: newest hit {newest}, now {now}, "
                                 f"journal marks behind it: {behind}")
        time.sleep(POLL)


def manage(env, *args, timeout=120):
    out = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=timeout, check=False)
    assert out.returncode == 0, f"manage.py {' '.join(args)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@pytest.mark.parametrize("interface", ["rsgi", "wsgi"])
def test_answered_hits_survive_sigkill_and_are_counted_exactly_once(tmp_path, interface):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    db = Database(var_dir)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "byline.settings.production",
        "SECRET_KEY": SECRET,
        "BYLINE_VAR_DIR": str(var_dir),
        "ALLOWED_HOSTS": "127.0.0.1",
        "BYLINE_SITE_URL": "http://127.0.0.1:8000",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "ERROR",
        "PYTHONUNBUFFERED": "1",
        "BYLINE_COUNT_SETTLE_SECONDS": str(COUNT_SETTLE),
    })
    servers = []
    load = None
    try:
        url = db.create()
        if url:
            env["DATABASE_URL"] = url
        out = manage(env, "shell", "-c", (  # migrate and load_demo --no-admin, in one start of Django
            "from django.core.management import call_command\n"
            "call_command('migrate', interactive=False, verbosity=0)\n"
            "call_command('load_demo', no_admin=True, verbosity=0)\n"
            "from stories.models import StoryPage\n"
            "from republish.pixel import pixel_path\n"
            "story = StoryPage.objects.live().public().order_by('pk').first()\n"
            "print('STORY', story.pk, pixel_path(story.pk))"))  # signed with the servers' SECRET_KEY
        _, story_id, path = next(line for line in out.splitlines() if line.startswith("STORY ")).split()
        story_id = int(story_id)

        first = Server(env, tmp_path / "server-1.log", interface)
        servers.append(first)
        load = Load(path)
        load.port = first.start()
        headers = gif_headers(load.port)  # the length said by granian itself under RSGI, by us under WSGI
        assert headers["content-length"] == "43" and headers["content-type"] == "image/gif"
        assert "no-store" in headers["cache-control"] and "set-cookie" not in headers
        status, body = site_response(load.port, "/robots.txt")  # the rest of the site, served by the same server
        assert status == 200 and b"Sitemap:" in body, (status, body[:500])
        load.start()
        load.wait_for(KILL_AFTER, min_seconds=1.0)
        first.kill(signal.SIGKILL)  # mid-load: requests are in flight and batches are being committed
        load.port = None
        answered_before_kill = load.count()

        second = Server(env, tmp_path / "server-2.log", interface)
        servers.append(second)
        restart = time.monotonic()
        load.port = second.start()
        restart = time.monotonic() - restart
        load.wait_for(answered_before_kill + AFTER_RESTART, min_seconds=0.5)
        load.finish()
        second.kill(signal.SIGTERM)

        answered, cut_off = load.answered, load.cut_off | load.refused | load.other
        assert len(answered) >= KILL_AFTER + AFTER_RESTART
        assert not load.other, f"{len(load.other)} requests answered something other than the GIF"
        assert load.cut_off or load.refused, "the kill did not interrupt any request: it was not under load"

        rows = db.rows(f"SELECT copy, COUNT(*), MIN(filtered), MAX(filtered) FROM tracking_hit "
                       f"WHERE story_id = {story_id} GROUP BY copy")
        stored = {}
        for copy, count, min_filtered, max_filtered in rows:
            assert copy.startswith(PARTNER), f"unexpected copy {copy!r}"
            stored[int(copy[len(PARTNER):])] = (count, min_filtered, max_filtered)
        lost = sorted(answered - stored.keys())
        twice = sorted(n for n, (count, _, _) in stored.items() if count != 1)
        unknown = sorted(stored.keys() - answered - cut_off)
        assert not lost, f"{len(lost)} of {len(answered)} answered hits lost in the crash, e.g. {lost[:10]}"
        assert not twice, f"{len(twice)} hits stored more than once, e.g. {twice[:10]}"
        assert not unknown, f"stored hits nobody sent: {unknown[:10]}"
        filtered = sorted(n for n in answered if stored[n][1] or stored[n][2])
        assert not filtered, f"{len(filtered)} answered hits were filtered (distinct readers expected): {filtered[:10]}"

        # Count them: every stored hit of the story once in the rollups, every answered page exactly once.
        wait_until_settled(db)
        manage(env, "count_hits", "-v0")

        def rollups():
            total_hits = db.rows(f"SELECT COUNT(*) FROM tracking_hit WHERE story_id = {story_id} AND filtered = ''")
            total_rollup = db.rows(f"SELECT COALESCE(SUM(hits), 0) FROM tracking_rollup WHERE story_id = {story_id}")
            per_copy = db.rows(
                "SELECT c.url, SUM(r.hits) FROM tracking_rollup r JOIN tracking_copy c ON c.id = r.copy_id "
                f"WHERE r.story_id = {story_id} GROUP BY c.url")
            return total_hits[0][0], total_rollup[0][0], dict(per_copy)

        stored_hits, rollup_hits, per_copy = rollups()
        assert stored_hits == len(stored), (stored_hits, len(stored))
        assert rollup_hits == stored_hits, f"rollups count {rollup_hits} hits, {stored_hits} are stored"
        wrong = [n for n in answered if per_copy.get(PARTNER + str(n)) != 1]
        assert not wrong, f"{len(wrong)} answered hits not counted exactly once, e.g. " \
                          f"{[(n, per_copy.get(PARTNER + str(n))) for n in wrong[:10]]}"

        manage(env, "count_hits", "-v0")
        assert rollups() == (stored_hits, rollup_hits, per_copy), "a second count_hits run counted again"
        print(f"\n{'PostgreSQL' if db.postgres else 'SQLite'}, {interface}: {len(answered)} answered "
              f"({answered_before_kill} before the SIGKILL), {len(load.cut_off)} cut off by the kill, "
              f"{len(load.refused)} refused; restarted in {restart:.1f} s; {len(stored)} stored, "
              f"{len(stored.keys() & cut_off)} of them never answered; 0 lost, 0 twice; rollups {rollup_hits}.")
    finally:
        if load is not None:
            load.stop.set()
        for server in servers:
            server.kill(signal.SIGKILL)
        if load is not None:
            for t in load.threads:
                if t.is_alive():
                    t.join(10)
        db.drop()
