"""GET /healthz: whether this server can do its work, for load balancers, monitors and the people on call.

    200 {"status": "ok",   "checks": {"database": "ok", "cache": "ok", "journal": "ok"}}
    503 {"status": "down", "checks": {"database": "ok", "cache": "error: ConnectionError", "journal": "ok"}}

- database: a trivial query answers;
- cache: a key set in the shared cache (Redis or files) reads back, so the page cache and purges work;
- journal: the pixel journal directory (settings.PIXEL_JOURNAL_DIR) exists or can be made, takes a file, and has
  room for a journal file, without which the RSGI pixel answers 503 to every hit;
- pixel_log, only on a host whose nginx answers the pixel (deploy/nginx/pixel-log.conf; settings.PIXEL_LOG_DIR
  exists): the directory takes a file and has PIXEL_LOG_MIN_FREE_MB free, and the log's reader has stored
  everything nginx logged up to PIXEL_LOG_LAG_LIMIT seconds ago. nginx answers hits whatever happens behind
  it, so this is where a dead or lagging reader, or a filling disk, shows.

A failing part is reported, never raised: the answer is a 503 naming it, not a 500. The answer names only the
kind of error, as /healthz is public behind the front server; the full message goes to the log. It is never
cached: `never_cache` sends `no-store, private`, which the page cache in front of Django (byline/edge.py) never
keeps, nor does any other shared cache.
"""

import logging
import os
import secrets
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from tracking.api import JOURNAL_FILE_BYTES as FILE_BYTES
from tracking.api import pixel_log_lag

logger = logging.getLogger(__name__)


class Unhealthy(Exception):
    pass


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise Unhealthy("SELECT 1 did not answer 1")


def check_cache():
    key, value = f"healthz:{secrets.token_hex(8)}", secrets.token_hex(8)
    cache.set(key, value, timeout=30)  # expires by itself should the delete below not happen
    try:
        if cache.get(key) != value:
            raise Unhealthy("a key set in the cache did not read back")
    finally:
        cache.delete(key)


def check_journal():
    directory = Path(settings.PIXEL_JOURNAL_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    # Named so that journal recovery (tracking.journal, "*.hits") never takes it for a dead worker's journal.
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".healthz-", suffix=".tmp") as probe:
        probe.write(b"ok\n")
        probe.flush()
    # A worker reserves a whole journal file before it takes a hit: a disk with less room refuses them all.
    disk = os.statvfs(directory)
    if disk.f_bavail * disk.f_frsize < FILE_BYTES:
        raise Unhealthy(f"less than {FILE_BYTES // 2**20} MB free for journal files")


def check_pixel_log():
    directory = Path(settings.PIXEL_LOG_DIR)
    with tempfile.NamedTemporaryFile(dir=directory, prefix=".healthz-", suffix=".tmp") as probe:  # not *.log
        probe.write(b"ok\n")
        probe.flush()
    # nginx answers whatever happens and a full disk loses what it answers: warn while there is room for a
    # while (at 76,000 hits/s, about 25 MB a second).
    disk = os.statvfs(directory)
    if disk.f_bavail * disk.f_frsize < settings.PIXEL_LOG_MIN_FREE_MB * 2**20:
        raise Unhealthy(f"less than {settings.PIXEL_LOG_MIN_FREE_MB} MB free for the pixel log")
    lag = pixel_log_lag()
    if lag is None or lag > settings.PIXEL_LOG_LAG_LIMIT:
        raise Unhealthy("its reader has stored nothing yet" if lag is None
                        else f"its reader is {lag:.0f} s behind")


CHECKS = {"database": check_database, "cache": check_cache, "journal": check_journal}


def run_checks():
    """{part: "ok" or "error: <kind>"} for every part, each checked whatever happened to the others."""
    results = {}
    checks = dict(CHECKS)
    if Path(settings.PIXEL_LOG_DIR).is_dir():
        checks["pixel_log"] = check_pixel_log
    for name, check in checks.items():
        try:
            check()
        except Exception as error:
            logger.error("Health check %s failed: %s: %s", name, type(error).__name__, error)
            detail = str(error) if isinstance(error, Unhealthy) else type(error).__name__
            results[name] = f"error: {detail}"
        else:
            results[name] = "ok"
    return results


@never_cache
@require_safe
def healthz(request):
    checks = run_checks()
    healthy = all(result == "ok" for result in checks.values())
    return JsonResponse({"status": "ok" if healthy else "down", "checks": checks}, status=200 if healthy else 503)


# Included by byline/urls.py as "healthz".
urlpatterns = [path("", healthz, name="healthz")]
