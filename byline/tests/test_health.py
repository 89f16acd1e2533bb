"""GET /healthz (byline/health.py), requested as the servers run it: through the page cache in front of Django."""

import json
import socket
from datetime import timedelta
from unittest import mock

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError, connection
from django.test import override_settings
from django.utils import timezone

from byline.edge import PageCache
from tracking.models import JournalMark
from tracking.nginx_log import NginxPixelLog

from .test_edge import call

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def journal_dir(tmp_path, settings):
    settings.PIXEL_JOURNAL_DIR = tmp_path / "pixel-journal"
    return settings.PIXEL_JOURNAL_DIR


@pytest.fixture(autouse=True)
def pixel_log_dir(tmp_path, settings):
    """Where nginx would write its pixel log (deploy/nginx/pixel-log.conf): absent unless a test makes it."""
    settings.PIXEL_LOG_DIR = tmp_path / "pixel-log"
    return settings.PIXEL_LOG_DIR


@pytest.fixture
def app():
    """The site as byline.wsgi serves it (the pixel aside): the page cache, then Django."""
    return PageCache(WSGIHandler(), local_seconds=60)


def health(app):
    response = call(app, "/healthz")
    assert response.header("Content-Type") == "application/json"
    return response.status_code, json.loads(response.body)


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def test_all_parts_up_is_200_ok(app, journal_dir):
    assert health(app) == (200, {"status": "ok", "checks": {"database": "ok", "cache": "ok", "journal": "ok"}})
    assert journal_dir.is_dir(), "the journal directory is made when missing, as the pixel server would"
    assert list(journal_dir.iterdir()) == [], "the probe file is removed"


def database_down():
    """The default database refusing connections, as PostgreSQL's driver reports it."""
    error = OperationalError('connection to server at "db.internal" (10.0.0.5), port 5432 failed: Connection refused')
    return mock.patch.object(connection, "cursor", side_effect=error)


def test_database_down_is_503_naming_the_database(app):
    with database_down():
        status, body = health(app)
    assert status == 503
    assert body == {"status": "down",
                    "checks": {"database": "error: OperationalError", "cache": "ok", "journal": "ok"}}
    assert "db.internal" not in json.dumps(body), "/healthz is public: no host names, addresses or traces"


def test_cache_down_is_503_naming_the_cache(app):
    # A Redis server that is not running, as REDIS_URL would name it: the page cache in front of Django asks it
    # first, and must let the request through rather than fail it.
    redis = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"redis://127.0.0.1:{closed_port()}/0"}
    with override_settings(CACHES={"default": redis}):
        status, body = health(app)
    assert status == 503
    assert body["status"] == "down"
    assert body["checks"]["database"] == "ok" and body["checks"]["journal"] == "ok"
    assert body["checks"]["cache"].startswith("error: ")
    assert "Traceback" not in body["checks"]["cache"]


def test_unwritable_journal_is_503_naming_the_journal(app, tmp_path, settings):
    # A file where the directory should be: refused to root too, unlike a mode that root ignores.
    (tmp_path / "not-a-directory").write_text("")
    settings.PIXEL_JOURNAL_DIR = tmp_path / "not-a-directory" / "pixel-journal"
    status, body = health(app)
    assert status == 503
    assert body["checks"] == {"database": "ok", "cache": "ok", "journal": "error: NotADirectoryError"}


def test_every_failing_part_is_named(app, tmp_path, settings):
    (tmp_path / "file").write_text("")
    settings.PIXEL_JOURNAL_DIR = tmp_path / "file" / "journal"
    with database_down():
        status, body = health(app)
    assert status == 503
    assert body["checks"]["database"].startswith("error: ") and body["checks"]["journal"].startswith("error: ")
    assert body["checks"]["cache"] == "ok"


def test_never_cached_by_the_page_cache_or_anyone_else(app, tmp_path, settings):
    first = call(app, "/healthz")
    assert first.status_code == 200
    cache_control = first.header("Cache-Control")
    assert "no-store" in cache_control and "private" in cache_control and "public" not in cache_control

    again = call(app, "/healthz")  # within the page cache's 60 s: a cached page would be a HIT
    assert again.x_cache == "MISS"

    (tmp_path / "file").write_text("")
    settings.PIXEL_JOURNAL_DIR = tmp_path / "file" / "journal"
    assert call(app, "/healthz").status_code == 503, "a part going down shows at the next request"


def test_head_answers_like_get(app):
    head = call(app, "/healthz", method="HEAD")
    assert head.status_code == 200 and head.body == b""


def test_where_nginx_answers_the_pixel_its_log_reader_must_keep_up(app, pixel_log_dir, settings):
    pixel_log_dir.mkdir()  # this host's nginx answers /pixel/ and logs it
    assert health(app) == (503, {"status": "down", "checks": {
        "database": "ok", "cache": "ok", "journal": "ok", "pixel_log": "error: its reader has stored nothing yet"}})
    NginxPixelLog(pixel_log_dir).ingest()
    assert health(app)[1]["checks"]["pixel_log"] == "ok"
    assert [path.name for path in pixel_log_dir.iterdir()] == [], "the probe file is removed, and named not *.log"
    settings.PIXEL_LOG_MIN_FREE_MB = 2**40  # a disk filling: nginx would soon answer hits it cannot write
    assert health(app)[1]["checks"]["pixel_log"] == f"error: less than {2**40} MB free for the pixel log"
    settings.PIXEL_LOG_MIN_FREE_MB = 1
    JournalMark.objects.update(stored_until=timezone.now() - timedelta(minutes=2))  # the reader died
    status, body = health(app)
    assert status == 503 and body["checks"]["pixel_log"] == "error: its reader is 120 s behind"
