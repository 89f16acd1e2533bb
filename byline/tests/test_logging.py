"""LOG_FORMAT: plain lines by default, one JSON object per line on standard output with LOG_FORMAT=json."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Our own logger (with an extra field and an exception), and Django's request logs from real requests: a
# foreign Host header (400, logged by django.security) and a page of a site whose database has no tables yet
# (500, logged by django.request with the exception).
LOG_SOMETHING = """
import logging
import django
from django.test import Client
django.setup()
log = logging.getLogger("stories.demo")
log.warning("hello %s", "newsroom", extra={"story_id": 7})
try:
    1 / 0
except ZeroDivisionError:
    log.exception("counting failed")
logging.getLogger("tracking.counting").info("below LOG_LEVEL, never shown")
assert Client(HTTP_HOST="evil.example").get("/news/").status_code == 400
assert Client(HTTP_HOST="news.example.org", raise_request_exception=False).get("/news/").status_code == 500
logging.getLogger("django.server").info('"GET /news/ HTTP/1.1" 200 512', extra={"status_code": 200})
"""


def run(env, tmp_path):
    (tmp_path / "static").mkdir(exist_ok=True)  # WhiteNoise warns (on standard error) when STATIC_ROOT is missing
    full_env = {k: v for k, v in os.environ.items() if k not in (
        "LOG_FORMAT", "LOG_LEVEL", "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CACHE_URL")}
    full_env.update(DJANGO_SETTINGS_MODULE="byline.settings.production", SECRET_KEY=secrets.token_urlsafe(50),
                    ALLOWED_HOSTS="news.example.org", BYLINE_VAR_DIR=str(tmp_path), **env)
    return subprocess.run([sys.executable, "-c", LOG_SOMETHING], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=120)


def test_json_logs_are_one_object_per_line_on_standard_output(tmp_path):
    result = run({"LOG_FORMAT": "json"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    records = [json.loads(line) for line in result.stdout.splitlines()]  # every line is one JSON object
    assert all(isinstance(record, dict) for record in records)
    assert [record["logger"] for record in records] == [
        "stories.demo", "stories.demo", "django.security.DisallowedHost", "django.request", "django.server",
    ]
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record)
        assert record["time"].endswith("+00:00") and "T" in record["time"]  # ISO 8601, UTC
    hello, failed, disallowed, error, server = records

    assert hello["level"] == "WARNING" and hello["message"] == "hello newsroom" and hello["story_id"] == 7
    assert "exception" not in hello
    assert failed["level"] == "ERROR" and failed["message"] == "counting failed"
    assert failed["exception"].startswith("Traceback (most recent call last):")
    assert failed["exception"].endswith("ZeroDivisionError: division by zero")

    assert disallowed["level"] == "ERROR" and "'evil.example'" in disallowed["message"]
    assert disallowed["status_code"] == 400
    assert error["level"] == "ERROR" and error["message"] == "Internal Server Error: /news/"
    assert error["status_code"] == 500 and "no such table" in error["exception"]
    assert server["level"] == "INFO" and server["message"] == '"GET /news/ HTTP/1.1" 200 512'


def test_logs_are_plain_lines_on_standard_error_by_default(tmp_path):
    result = run({}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("hello newsroom\ncounting failed\nTraceback (most recent call last):")
    assert "Internal Server Error: /news/\nTraceback" in result.stderr
    assert "below LOG_LEVEL" not in result.stderr
    assert not any(line.startswith("{") for line in result.stderr.splitlines())


def test_an_unknown_log_format_stops_the_start(tmp_path):
    result = run({"LOG_FORMAT": "xml"}, tmp_path)
    assert result.returncode != 0
    assert "LOG_FORMAT must be 'plain' or 'json', not 'xml'" in result.stderr
