"""Counting never skips or doubles a hit, whatever order ids and receive times arrive in.

Two pixel servers ("hosts" a and b: granian over RSGI as in production, each with its own journal directory
and host name; host b's clock 3 seconds behind, through tracking/tests/clock_skew.c) share one database and
take readers' requests at once, while the counting job runs every second. Mid-load the database is held by a long
transaction, so both servers' hits pile up in their journals, and host a is killed with SIGKILL while it
holds some. Host b stores its backlog as soon as the transaction
ends; host a, restarted a few seconds later, stores the hits its dead journal kept: their receive times are
seconds old, their ids the newest in the table. Then:

- every answered request is stored exactly once, with the time it was received by its host's clock (no hit
  was moved to a later time because the counting job had passed it);
- the rollups equal the truth exactly: every stored hit once, and views and readers as the definitions give
  them when the hits are taken in the order they were received. Each request is a page of its own
  (`?url=.../p/<n>`) read by one of a few hundred readers, so a view counted on the wrong page shows.

On SQLite by default, on PostgreSQL when DATABASE_URL is set (a database of its own, as in test_crash).
"""

import contextlib
import os
import pathlib
import random
import sqlite3
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta

from tracking.tests.test_crash import PARTNER, PYTHON, ROOT, Database, Server, manage, pixel_request

SECRET = "counting-order-test-" + "s3cr3t" * 6
READERS = 300
LOADERS = 12
VIEW_GAP = timedelta(minutes=30)
SKEW = -3.0  # seconds: host b's clock
COUNT_LOOP = """
import pathlib, time
from tracking.counting import count_all_new_hits
stop = pathlib.Path({stop!r})
while not stop.exists():
    count_all_new_hits()
    time.sleep(1)
"""


class Readers:
    """LOADERS threads sending requests to whichever hosts are up, each request a new page read by one of
    READERS readers (a reader is an address and browser: the visitor key), noting when each was sent and
    answered."""

    def __init__(self, path):
        self.path = path
        self.ports = []
        self.lock = threading.Lock()
        self.next_n = 0
        self.answered = {}  # n: (sent, answered) in epoch seconds, and the port that answered
        self.cut_off = set()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.send, daemon=True) for _ in range(LOADERS)]

    def send(self):
        chance = random.Random()
        while not self.stop.is_set():
            ports = list(self.ports)
            if not ports:
                time.sleep(0.02)
                continue
            with self.lock:
                self.next_n += 1
                n = self.next_n
            reader, port = chance.randrange(READERS), chance.choice(ports)
            sent = time.time()
            try:
                status, body = pixel_request(port, self.path, n, reader=reader)
            except OSError:
                with self.lock:
                    self.cut_off.add(n)
                time.sleep(0.01)
                continue
            if status == 200:
                with self.lock:
                    self.answered[n] = (sent, time.time(), port)

    def wait_for(self, more, timeout=30):
        target = len(self.answered) + more
        deadline = time.monotonic() + timeout
        while len(self.answered) < target:
            assert time.monotonic() < deadline, f"only {len(self.answered)} of {target} hits answered in time"
            time.sleep(0.02)


def truth(hits):
    """{page: [hits, views, readers]} by the definitions (docs/tracking.md), hits taken in receive order.
    `hits`: (received_at, story id, page, visitor, id)."""
    last_view, reader_day, counts = {}, {}, {}
    for received_at, story_id, copy, visitor, _ in sorted(hits, key=lambda hit: (hit[0], hit[4])):
        key = (visitor, story_id)
        view = key not in last_view or received_at - last_view[key] >= VIEW_GAP
        reader = view and reader_day.get(key) != received_at.date()
        if view:
            last_view[key] = received_at
        if reader:
            reader_day[key] = received_at.date()
        page = counts.setdefault(copy, [0, 0, 0])
        page[0] += 1
        page[1] += view
        page[2] += reader
    return counts


def test_two_hosts_a_long_transaction_and_a_dead_journal_are_counted_exactly(tmp_path):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    db = Database(var_dir)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "byline.settings.production", "SECRET_KEY": SECRET, "BYLINE_VAR_DIR": str(var_dir),
        "ALLOWED_HOSTS": "127.0.0.1", "BYLINE_SITE_URL": "http://127.0.0.1:8000", "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1", "BYLINE_PIXEL_RATE_CAP": "1000000",
        "BYLINE_COUNT_SETTLE_SECONDS": "2",
        # Each of its few hundred readers reads hundreds of pages of one story: no copy-flood cap here.
        "BYLINE_PIXEL_COPIES_PER_READER": "0",
    })
    skewed_clock = clock_skew_library(tmp_path)
    hosts, counting, stop = {}, None, tmp_path / "stop-counting"
    readers = None
    try:
        database_url = db.create()
        if database_url:
            env["DATABASE_URL"] = database_url
        story_id, path = manage(env, "shell", "-c", SETUP).split("STORY")[1].split()
        story_id = int(story_id)
        for name in ("a", "b"):
            host_env = {**env, "BYLINE_PIXEL_HOST_NAME": f"host-{name}",
                        "BYLINE_PIXEL_JOURNAL_DIR": str(var_dir / f"journal-{name}")}
            if name == "b":
                host_env.update(LD_PRELOAD=str(skewed_clock), BYLINE_CLOCK_SKEW_MS=str(int(SKEW * 1000)))
            hosts[name] = Server(host_env, tmp_path / f"host-{name}.log", "rsgi")
            hosts[name].start()
        counting = subprocess.Popen([PYTHON, "manage.py", "shell", "-c", COUNT_LOOP.format(stop=str(stop))],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        readers = Readers(path)
        readers.ports = [hosts["a"].port, hosts["b"].port]
        for thread in readers.threads:
            thread.start()
        readers.wait_for(2500)

        with held_database(db):  # both hosts answer from their journals; nothing reaches the database
            readers.wait_for(1500)
            readers.ports = [hosts["b"].port]
            hosts["a"].kill()  # with hits in its journal that no transaction has stored
        readers.wait_for(2500)
        time.sleep(3)  # the counting job runs meanwhile, and must wait for host a's hits
        hosts["a"].start()  # stores the dead journal: old receive times, the newest ids
        readers.ports = [hosts["a"].port, hosts["b"].port]
        readers.wait_for(2500)
        readers.stop.set()
        for thread in readers.threads:
            thread.join(15)
        for host in hosts.values():
            host.kill(sig=15)  # a clean stop stores what is queued
        time.sleep(3)  # past the settle time
        stop.touch()
        assert counting.wait(60) == 0, counting.stdout.read().decode()[-3000:]
        manage(env, "count_hits", "-v0")

        rows = db.rows(f"SELECT received_at, story_id, copy, visitor, id FROM tracking_hit "
                       f"WHERE story_id = {story_id} AND filtered = ''")
        if not db.postgres:  # SQLite's text: UTC
            rows = [(datetime.fromisoformat(r[0]).replace(tzinfo=UTC), *r[1:]) for r in rows]
        stored = {}
        for received_at, _, copy, _, _ in rows:
            n = int(copy[len(PARTNER):])
            assert n not in stored, f"page {n} stored twice"
            stored[n] = received_at.timestamp()
        answered = readers.answered
        lost = sorted(answered.keys() - stored.keys())
        assert not lost, f"{len(lost)} of {len(answered)} answered hits were not stored, e.g. {lost[:10]}"
        assert not stored.keys() - answered.keys() - readers.cut_off, "stored hits nobody sent"
        skew = {hosts["b"].port: SKEW}  # host a answers on a new port after its restart
        moved = [n for n, (sent, done, port) in answered.items()
                 if not sent + skew.get(port, 0) - 0.05 <= stored[n] <= done + skew.get(port, 0) + 0.05]
        assert not moved, f"{len(moved)} hits stored with another time than they were received, e.g. {moved[:5]}"

        # The scenario happened: hits stored with ids newer than hits received seconds after them.
        newest, behind = None, timedelta(0)
        for received_at, *_ in sorted(rows, key=lambda row: row[4]):
            newest = max(newest or received_at, received_at)
            behind = max(behind, newest - received_at)
        assert behind > timedelta(seconds=3), f"ids never ran behind receive times by more than {behind}"

        expected = truth(rows)
        counted = {url: [hits, views, readers_] for url, hits, views, readers_ in db.rows(
            "SELECT c.url, SUM(r.hits), SUM(r.views), SUM(r.readers) FROM tracking_rollup r "
            f"JOIN tracking_copy c ON c.id = r.copy_id WHERE r.story_id = {story_id} GROUP BY c.url")}
        wrong = {url: (counted.get(url), want) for url, want in expected.items() if counted.get(url) != want}
        assert not wrong, f"{len(wrong)} pages counted differently from the truth, e.g. {list(wrong.items())[:5]}"
        assert counted.keys() == expected.keys()
        totals = [sum(page[i] for page in expected.values()) for i in range(3)]
        assert totals[0] == len(rows) >= 10_000
        assert totals[1] == totals[2] <= READERS  # one view and one reader per reader (within 30 minutes)
        print(f"\n{'PostgreSQL' if db.postgres else 'SQLite'}: {len(answered)} answered, {len(rows)} stored and "
              f"counted exactly; views {totals[1]}, readers {totals[2]}")
    finally:
        if readers:
            readers.stop.set()
        stop.touch()
        if counting and counting.poll() is None:
            counting.kill()
        for host in hosts.values():
            host.kill()
        db.drop()


def clock_skew_library(folder):
    """tracking/tests/clock_skew.c built for this machine: LD_PRELOAD it with BYLINE_CLOCK_SKEW_MS set."""
    library = folder / "clock_skew.so"
    source = pathlib.Path(__file__).with_name("clock_skew.c")
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"], check=True)
    return library


def test_the_skewed_clock_moves_wall_time_only(tmp_path):
    """The shim the test above relies on: the wall clock 3 s behind, sleeping and timing untouched."""
    program = ("import datetime, time; t = time.monotonic(); time.sleep(0.01); "
               "print(datetime.datetime.now().timestamp(), time.time(), time.monotonic() - t)")
    out = subprocess.run([PYTHON, "-c", program], capture_output=True, text=True, check=True, env={
        **os.environ, "LD_PRELOAD": str(clock_skew_library(tmp_path)), "BYLINE_CLOCK_SKEW_MS": "-3000"}).stdout
    now, wall, slept = map(float, out.split())
    assert -3.5 < wall - time.time() < -2.5
    assert -3.5 < now - time.time() < -2.5
    assert 0.01 <= slept < 1


SETUP = """
from django.core.management import call_command
call_command('migrate', interactive=False, verbosity=0)
call_command('load_demo', no_admin=True, verbosity=0)
from stories.models import StoryPage
from republish.pixel import pixel_path
story = StoryPage.objects.live().public().order_by('pk').first()
print('STORY', story.pk, pixel_path(story.pk))
"""


@contextlib.contextmanager
def held_database(db):
    """A long transaction that holds the hit table: SQLite's write lock, or PostgreSQL's table lock."""
    if db.postgres:
        import psycopg

        conn = psycopg.connect(db.url(), autocommit=False)
        conn.execute("LOCK TABLE tracking_hit IN EXCLUSIVE MODE")
    else:
        conn = sqlite3.connect(db.var_dir / "byline.sqlite3", timeout=10, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()
