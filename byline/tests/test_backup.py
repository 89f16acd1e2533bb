"""Backups: scripts/backup copies a live Byline, scripts/restore puts it back in a fresh place (docs/operations.md).

A site is built for real (production settings; `migrate` and `load_demo` in a subprocess; its own SQLite file in
a temporary var dir, or its own PostgreSQL database when DATABASE_URL is set for the test run, as in
tracking/tests/test_crash.py) and given what a backup must not lose:

- a picture uploaded into MEDIA_ROOT;
- five pixel hits answered by a pixel process that is still running: its journal holds all five, the database
  three (with the journal's mark saying so), counted into the rollups by `count_hits`;
- on SQLite, those writes committed but still only in the -wal file, where a copy of byline.sqlite3 misses them.

scripts/backup runs while another connection holds a write transaction open. The site is then wiped (var dir
deleted, database dropped) and scripts/restore puts the backup into a new var dir and a new database. The
restored copy has the same stories, hits, rollups and picture bytes, and nothing of the uncommitted write; a
second restore into it is refused. The pixel server started on it stores the two hits only the journal had,
each once, and serves a story page; count_hits then counts all five hits, each once.
"""

import contextlib
import html
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
from urllib.parse import urlsplit, urlunsplit

from byline.tests.test_deploy import wait_until
from tracking.tests.test_crash import PYTHON, ROOT, Database, Server, manage, site_response

SECRET = "backup-test-secret-" + "k3y" * 12  # production refuses keys under 50 characters
PARTNER = "https://partner.example/backup/"
UNCOMMITTED = "A title nobody committed"

# The live site, in one start of Django: built, given a picture, and running a pixel process that has answered
# five hits and stored three. It then waits, alive and holding its journal, until the test closes its input.
LIVE_SITE = f"PARTNER = {PARTNER!r}\n" + """
import io, json, sys
from datetime import timedelta

from django.conf import settings
from django.core.files.images import ImageFile
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

call_command("migrate", interactive=False, verbosity=0)
call_command("load_demo", no_admin=True, verbosity=0)
if connection.vendor == "sqlite":
    connection.cursor().execute("PRAGMA wal_autocheckpoint = 0")  # what follows stays in the -wal file

from images.factories import BylineImageFactory, gradient_jpeg
from stories.models import StoryPage
from tracking.writers import write_batch
from tracking.journal import Journal

picture = BylineImageFactory(title="Backup proof", file=ImageFile(
    io.BytesIO(gradient_jpeg(("#222222", "#e9c46a"), size=(320, 180), label="backup")), name="backup-proof.jpg"))
story = StoryPage.objects.live().public().order_by("pk").first()
journal = Journal(settings.PIXEL_JOURNAL_DIR)
journal.start()
an_hour_ago = timezone.now() - timedelta(hours=1)
rows = [{"received_at": an_hour_ago + timedelta(seconds=n), "story_id": story.pk, "via": "html",
         "copy": f"{PARTNER}{n}", "visitor": f"reader{n}", "filtered": ""} for n in range(5)]
ends = [journal.append(row)[1] for row in rows]  # answered: each hit is in the journal before its GIF goes out
write_batch(rows[:3], {journal.name: ends[2]}, [])  # the committer's batch: three hits and the mark, together
call_command("count_hits", verbosity=0)
print("READY", json.dumps({"story": story.pk, "url": story.url, "title": story.title,
                           "picture": picture.file.name, "journal": journal.name}), flush=True)
sys.stdin.read()
"""



class OwnDatabase(Database):
    """test_crash's database, named for this test (byline_backup_<random>)."""

    prefix = "byline_backup"


class Place:
    """Where one Byline keeps its data: a var dir, and a PostgreSQL database of its own on the PostgreSQL run."""

    def __init__(self, var_dir):
        self.var_dir = var_dir
        self.db = OwnDatabase(var_dir)

    def create(self):
        self.var_dir.mkdir()
        url = self.db.create()
        self.env = site_environment(self.var_dir, url)

    def wipe(self):
        shutil.rmtree(self.var_dir, ignore_errors=True)
        self.db.drop()

    def rows(self, sql):
        return self.db.rows(sql)

    def contents(self):
        """What the backup must keep: the stories, the stored hits per copy, the counted hits per copy."""
        return {
            "stories": self.rows("SELECT p.id, p.title, p.url_path, p.live FROM wagtailcore_page p "
                                 "JOIN stories_storypage s ON s.page_ptr_id = p.id ORDER BY p.id"),
            "hits": self.rows("SELECT copy, COUNT(*) FROM tracking_hit GROUP BY copy ORDER BY copy"),
            "rollups": self.rows("SELECT c.url, SUM(r.hits) FROM tracking_rollup r "
                                 "JOIN tracking_copy c ON c.id = r.copy_id GROUP BY c.url ORDER BY c.url"),
        }

    @contextlib.contextmanager
    def open_write(self, story_id):
        """Another connection in the middle of a write transaction (on SQLite it holds the write lock)."""
        sql = f"UPDATE wagtailcore_page SET title = '{UNCOMMITTED}' WHERE id = {story_id}"
        if self.db.postgres:
            import psycopg

            with psycopg.connect(self.db.url(), connect_timeout=5) as writer:
                writer.execute(sql)
                yield
                writer.rollback()
            return
        writer = sqlite3.connect(self.var_dir / "byline.sqlite3", isolation_level=None, timeout=10)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute(sql)
            yield
            writer.execute("ROLLBACK")
        finally:
            writer.close()


def site_environment(var_dir, database_url=None):
    """The environment a production Byline runs with, none of it taken from the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYLINE_") and k not in (
        "DATABASE_URL", "REDIS_URL", "CACHE_URL", "MEDIA_ROOT", "DJANGO_SETTINGS_MODULE")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "byline.settings.production",
        "SECRET_KEY": SECRET,
        "BYLINE_VAR_DIR": str(var_dir),
        "ALLOWED_HOSTS": "127.0.0.1",
        "BYLINE_SITE_URL": "http://127.0.0.1:8000",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "ERROR",
        # The scripts' `#!/usr/bin/env python3` finds this virtualenv's Python, whichever the tests run in.
        "PATH": f"{os.path.dirname(PYTHON)}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def script(name, *args, env):
    return subprocess.run([str(ROOT / "scripts" / name), *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def start_live_site(place, log_path):
    with open(log_path, "wb") as log:
        process = subprocess.Popen([PYTHON, "manage.py", "shell", "-c", LIVE_SITE], cwd=ROOT, env=place.env,
                                   stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT)

    def ready():
        assert process.poll() is None, f"the live site exited:\n{log_path.read_text(errors='replace')[-3000:]}"
        return next((json.loads(line[len("READY "):]) for line in log_path.read_text().splitlines()
                     if line.startswith("READY ")), None)

    return process, wait_until(ready, 240, lambda: f"the live site was not ready:\n{log_path.read_text()[-3000:]}")


def stop(process):
    if process.poll() is None:
        process.kill()
        process.wait(10)
    process.stdin.close()


def test_a_backup_of_a_live_site_restores_into_a_fresh_place(tmp_path):
    live, restored = Place(tmp_path / "live"), Place(tmp_path / "restored")
    backup_dir = tmp_path / "backups" / "today"
    site = pixel_server = None
    try:
        live.create()
        site, facts = start_live_site(live, tmp_path / "live-site.log")
        before = live.contents()
        assert before["hits"] == [(f"{PARTNER}{n}", 1) for n in range(3)]
        assert [(url, hits) for url, hits in before["rollups"] if url.startswith(PARTNER)] == before["hits"]
        picture = (live.var_dir / "media" / facts["picture"]).read_bytes()
        if not live.db.postgres:
            # The reason for SQLite's backup API: the hits are committed, but a copy of the file lacks them.
            plain = tmp_path / "plain-copy.sqlite3"
            shutil.copyfile(live.var_dir / "byline.sqlite3", plain)
            with contextlib.closing(sqlite3.connect(plain)) as copy:
                assert copy.execute("SELECT COUNT(*) FROM tracking_hit").fetchone() == (0,)

        with live.open_write(facts["story"]):
            made = script("backup", backup_dir, env=live.env)
        assert made.returncode == 0, made.stdout + made.stderr
        manifest = json.loads((backup_dir / "manifest.json").read_text())
        assert manifest["database"]["kind"] == ("postgresql" if live.db.postgres else "sqlite")
        assert list(manifest["pixel_journal"]["files"]) == [facts["journal"]]
        assert manifest["media"]["kind"] == "tar" and manifest["media"]["files"] >= 1

        stop(site)
        live.wipe()

        restored.create()
        done = script("restore", backup_dir, env=restored.env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert restored.contents() == before  # and so without the write that was never committed
        assert (restored.var_dir / "media" / facts["picture"]).read_bytes() == picture
        assert (restored.var_dir / "pixel-journal" / facts["journal"]).is_file()

        again = script("restore", backup_dir, env=restored.env)
        assert again.returncode == 1 and "not empty" in again.stderr and "--force" in again.stderr, again.stderr

        # The pixel server stores what only the journal held before it takes a hit.
        pixel_server = Server(restored.env, tmp_path / "pixel-server.log", "rsgi")
        port = pixel_server.start()

        def stored():
            rows = restored.rows(f"SELECT copy, COUNT(*) FROM tracking_hit WHERE copy LIKE '{PARTNER}%' "
                                 "GROUP BY copy ORDER BY copy")
            return rows if len(rows) == 5 else None

        assert wait_until(stored, 20, lambda: f"the journal's hits were not stored:\n{pixel_server.log()}") == [
            (f"{PARTNER}{n}", 1) for n in range(5)]
        assert not (restored.var_dir / "pixel-journal" / facts["journal"]).exists()
        status, page = site_response(port, facts["url"])
        assert status == 200 and html.escape(facts["title"]).encode() in page, (status, page[:500])
        pixel_server.kill(signal.SIGTERM)

        manage(restored.env, "count_hits", "-v0")
        assert restored.rows(f"SELECT c.url, SUM(r.hits) FROM tracking_rollup r JOIN tracking_copy c "
                             f"ON c.id = r.copy_id WHERE c.url LIKE '{PARTNER}%' GROUP BY c.url ORDER BY c.url") == [
            (f"{PARTNER}{n}", 1) for n in range(5)]
    finally:
        if site is not None:
            stop(site)
        if pixel_server is not None:
            pixel_server.kill()
        live.wipe()
        restored.wipe()


def test_a_backup_into_a_directory_that_holds_something_is_refused(tmp_path):
    (tmp_path / "var").mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "notes.txt").write_text("not a backup")
    made = script("backup", dest, env=site_environment(tmp_path / "var"))
    assert made.returncode == 1 and "not an empty directory" in made.stderr, made.stderr
    assert [path.name for path in dest.iterdir()] == ["notes.txt"]


def test_a_backup_that_cannot_read_the_database_fails_and_leaves_nothing(tmp_path):
    (tmp_path / "var").mkdir()  # no database in it
    database_url = None
    if os.environ.get("DATABASE_URL"):  # a database that does not exist on the test's server
        parts = urlsplit(os.environ["DATABASE_URL"])
        database_url = urlunsplit(parts._replace(path=f"/byline_absent_{secrets.token_hex(4)}"))
    made = script("backup", tmp_path / "dest", env=site_environment(tmp_path / "var", database_url))
    assert made.returncode == 1 and made.stderr.startswith("backup failed: "), made.stderr
    assert not (tmp_path / "dest").exists()


def test_a_directory_without_a_manifest_is_not_restored(tmp_path):
    (tmp_path / "var").mkdir()
    half = tmp_path / "half"
    half.mkdir()
    (half / "database.sqlite3").write_bytes(b"")
    done = script("restore", half, env=site_environment(tmp_path / "var"))
    assert done.returncode == 1 and "no manifest.json" in done.stderr, done.stderr
    assert not (tmp_path / "var" / "byline.sqlite3").exists()
