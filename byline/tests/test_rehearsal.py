"""A production rehearsal: the README's production set-up, whole, on loopback.

PostgreSQL and Redis; two site processes (deploy/byline-site.service, as on two hosts) and the pixel server
(deploy/byline-pixel.service) behind the shipped nginx site (both sites in its upstream, as a newsroom with two
hosts would list them); the job runner (`manage.py run_jobs`). Then, as a newsroom lives it:

- an editor publishes a new version of a story in one process; readers get it through the other site process,
  and through nginx, within 5 seconds (the shared cache in Redis, purged on publish; each worker's own copy kept
  for BYLINE_EDGE_LOCAL_SECONDS);
- readers load the pixel through nginx over HTTPS; the pixel server is killed with SIGKILL mid-load and started
  again; every hit it answered is stored exactly once, and the job runner counts them all: the Readers report
  (`republication_report --json`) shows each answered copy's reader.

Always on PostgreSQL (the test's DATABASE_URL, else the machine's server on 127.0.0.1:5432) and Redis (a
database number of its own, emptied before and after). Never skipped.
"""

import contextlib
import http.client
import json
import os
import signal
import subprocess
import threading
import time
from urllib.parse import quote

import redis

from byline.tests.test_deploy import (
    PUBLIC,
    PublicHTTPS,
    UnitServer,
    fetch,
    front_for,
    install,
    running_nginx,
    unit_environment,
    wait_until,
)
from tracking.pixel import GIF
from tracking.tests.test_crash import PARTNER, PYTHON, ROOT, Database, free_port, manage

REDIS = "redis://127.0.0.1:6379/13"
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
PUBLISHED_WITHIN = 5.0
READERS = 8  # threads, each one HTTPS connection to nginx kept open, as browsers do


class Readers:
    """Threads loading the pixel through nginx, each request a new reader (browser) on a new page."""

    def __init__(self, front, path):
        self.front, self.path = front, path
        self.lock = threading.Lock()
        self.next_n = 0
        self.answered, self.failed = set(), set()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.read, daemon=True) for _ in range(READERS)]

    def read(self):
        conn = None
        while not self.stop.is_set():
            with self.lock:
                self.next_n += 1
                n = self.next_n
            query = f"?url={quote(PARTNER + str(n), safe='')}"
            agent = f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.{n}.0"
            try:
                conn = conn or PublicHTTPS(self.front.https_port, self.front.certificate)
                conn.request("GET", self.path + query, headers={"Host": PUBLIC, "User-Agent": agent})
                response = conn.getresponse()
                ok = response.status == 200 and response.read() == GIF
            except (OSError, http.client.HTTPException):  # the connection died with the pixel server
                ok = False
                if conn is not None:
                    conn.close()
                conn = None
            with self.lock:
                (self.answered if ok else self.failed).add(n)
            if not ok:
                time.sleep(0.02)  # nginx answers 502 while the pixel server is down

    def wait_for(self, more, timeout=60):
        target = len(self.answered) + more
        wait_until(lambda: len(self.answered) >= target, timeout,
                   lambda: f"only {len(self.answered)} of {target} pixel hits answered through nginx")

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(15)


def test_production_rehearsal(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    db = Database(var_dir)
    db.base_url = db.base_url or LOCAL_POSTGRES
    cache = redis.Redis.from_url(REDIS)
    cache.flushdb()
    servers, runner, readers = [], None, None
    try:
        env = unit_environment(var_dir, db.create())
        env.update(REDIS_URL=REDIS, BYLINE_JOBS_EVERY="count_hits=2", BYLINE_COUNT_SETTLE_SECONDS="2")
        story_id, story_url, pixel_path = install(env)

        front = front_for(tmp_path / "nginx", var_dir)
        second_site = UnitServer("byline-site.service", env, tmp_path / "site-b.log", free_port_besides(front))
        conf = (front.directory / "byline.conf").read_text()
        upstream = f"server 127.0.0.1:{front.site_port};"
        (front.directory / "byline.conf").write_text(
            conf.replace(upstream, f"{upstream}\n    server 127.0.0.1:{second_site.port};", 1))
        first_site = UnitServer("byline-site.service", env, tmp_path / "site-a.log", front.site_port)
        pixel = UnitServer("byline-pixel.service", env, tmp_path / "pixel.log", front.pixel_port)
        servers += [first_site, second_site, pixel]
        for server in servers:
            server.start()
        with open(tmp_path / "jobs.log", "wb") as log:
            runner = subprocess.Popen([PYTHON, "manage.py", "run_jobs"], cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

        with running_nginx(front):
            # Readers have the story cached everywhere: in each site process and in Redis.
            for port in (first_site.port, second_site.port):
                page(port, story_url)
            assert fetch(front, story_url)[0] == 200

            # An editor publishes a new headline, in a process of its own.
            headline = "Rehearsal: the harbor ferry returns"
            manage(env, "shell", "-c", (
                "from stories.models import StoryPage\n"
                f"story = StoryPage.objects.get(pk={story_id}).get_latest_revision_as_object()\n"
                f"story.title = {headline!r}\n"
                "story.save_revision().publish()"))
            published = time.monotonic()

            def everywhere():
                bodies = [page(first_site.port, story_url), page(second_site.port, story_url),
                          *(fetch(front, story_url)[2] for _ in range(4))]  # nginx alternates between the two
                return all(headline.encode() in body for body in bodies)

            wait_until(everywhere, PUBLISHED_WITHIN,
                       lambda: "the new headline did not reach every site process and nginx within 5 s")
            seen_after = time.monotonic() - published

            # Readers load the pixel through nginx; the pixel server is killed mid-load and started again.
            readers = Readers(front, pixel_path)
            for thread in readers.threads:
                thread.start()
            readers.wait_for(400)
            pixel.kill()
            killed_after = len(readers.answered)
            pixel.start()
            readers.wait_for(400)
            readers.finish()
            assert pixel.stop() == 0, pixel.log()

            answered = readers.answered
            rows = db.rows(f"SELECT copy, COUNT(*) FROM tracking_hit WHERE story_id = {story_id} "
                           f"AND copy LIKE '{PARTNER}%' GROUP BY copy")
            stored = {int(copy[len(PARTNER):]): count for copy, count in rows}
            lost = sorted(answered - stored.keys())
            assert not lost, f"{len(lost)} of {len(answered)} answered hits lost, e.g. {lost[:10]}"
            assert all(count == 1 for count in stored.values()), "a hit stored twice"
            assert not stored.keys() - answered - readers.failed, "stored hits nobody sent"

            # The job runner counts them: the report shows a reader on every answered copy.
            def reported():
                report = json.loads(manage(env, "republication_report", "--story", str(story_id), "--json"))
                copies = {copy["copy"]: copy for copy in report[0]["copies"]}
                return copies if all(copies.get(PARTNER + str(n), {}).get("readers") == 1 for n in answered) else None

            copies = wait_until(reported, 60, lambda: "the job runner did not count every answered hit in 60 s")
            assert sum(1 for url in copies if url.startswith(PARTNER)) == len(stored)
            print(f"\nPublished, and read everywhere after {seen_after:.1f} s; {len(answered)} pixel hits answered "
                  f"through nginx ({killed_after} before the SIGKILL), {len(stored)} stored and counted, 0 lost.")
    finally:
        if readers:
            readers.finish()
        if runner is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(runner.pid, signal.SIGKILL)
            runner.wait(10)
        for server in servers:
            server.kill()
        db.drop()
        cache.flushdb()


def free_port_besides(front):
    taken = {front.http_port, front.https_port, front.site_port, front.pixel_port}
    while (port := free_port()) in taken:
        pass
    return port


def page(port, path):
    """The body of a page asked of one site process directly, by its public name."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request("GET", path, headers={"Host": PUBLIC, "X-Forwarded-Proto": "https",
                                           "X-Forwarded-For": "198.51.100.9"})
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200, (port, path, response.status, body[:300])
        return body
    finally:
        conn.close()
