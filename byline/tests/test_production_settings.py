"""byline.settings.production as a server starts it: imported in a fresh process with a given environment."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import override_settings

from byline.edge import PageCache

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = secrets.token_urlsafe(50)
# What CI's `check --deploy` runs with (.ci/run).
TLS_ENV = {
    "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "news.example.org", "BEHIND_TLS_PROXY": "1",
    "BYLINE_SITE_URL": "https://news.example.org",
}
# Settings read from the environment that this machine's own environment must not decide for the tests.
# (DJANGO_ALLOW_ASYNC_UNSAFE is the test suite's own, see conftest.py; `check --deploy` rightly refuses it.)
OURS = ("SECRET_KEY", "ALLOWED_HOSTS", "BEHIND_TLS_PROXY", "LOG_FORMAT", "LOG_LEVEL", "DATABASE_URL", "REDIS_URL",
        "CACHE_URL", "CSRF_TRUSTED_ORIGINS", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")

SHOW_SETTINGS = """
import json
import django
from django.conf import settings
django.setup()
names = ["DEBUG", "SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT", "SECURE_HSTS_SECONDS",
         "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE",
         "CSRF_COOKIE_SECURE", "SECURE_CONTENT_TYPE_NOSNIFF", "SECURE_REFERRER_POLICY", "X_FRAME_OPTIONS",
         "SILENCED_SYSTEM_CHECKS"]
print(json.dumps({name: getattr(settings, name) for name in names}))
"""


def run(env, *args, code=None, tmp_path):
    """`python -c code` or `python manage.py args` with production settings and only `env` of ours set."""
    full_env = {k: v for k, v in os.environ.items() if k not in OURS and not k.startswith(("BYLINE_", "SECURE_"))}
    full_env.update(DJANGO_SETTINGS_MODULE="byline.settings.production", BYLINE_VAR_DIR=str(tmp_path), **env)
    command = [sys.executable, "-c", code] if code is not None else [sys.executable, "manage.py", *args]
    return subprocess.run(command, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120)


def production_settings(env, tmp_path):
    result = run(env, code=SHOW_SETTINGS, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(("key", "message"), [
    ("", "Set SECRET_KEY in the environment"),
    ("x" * 10 + GOOD_KEY[:39], "49 characters long; production needs 50 or more"),
    ("abcd" * 20, "fewer than 5 distinct characters"),
    ("django-insecure-" + GOOD_KEY, "starts with 'django-insecure'"),
])
def test_production_refuses_to_start_with_a_weak_secret_key(key, message, tmp_path):
    result = run({"SECRET_KEY": key}, code=SHOW_SETTINGS, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "django.core.exceptions.ImproperlyConfigured" in result.stderr
    assert message in result.stderr
    if key:
        assert key not in result.stderr  # the key itself is never printed


def test_a_strong_key_of_exactly_50_characters_is_accepted(tmp_path):
    assert production_settings({"SECRET_KEY": GOOD_KEY[:50]}, tmp_path)["DEBUG"] is False


def test_without_a_tls_proxy_nothing_is_forced_to_https(tmp_path):
    """`make serve` on a laptop, or a server without TLS: redirecting to HTTPS would lock everyone out."""
    current = production_settings({"SECRET_KEY": GOOD_KEY}, tmp_path)
    assert current["SECURE_SSL_REDIRECT"] is False
    assert current["SECURE_HSTS_SECONDS"] == 0
    assert current["SECURE_PROXY_SSL_HEADER"] is None
    assert current["SESSION_COOKIE_SECURE"] is False


def test_behind_a_tls_proxy_https_is_enforced(tmp_path):
    current = production_settings(TLS_ENV, tmp_path)
    assert current["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert current["SECURE_SSL_REDIRECT"] is True
    assert current["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert current["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert current["SECURE_HSTS_PRELOAD"] is False  # a commitment only the newsroom can make
    assert current["SILENCED_SYSTEM_CHECKS"] == ["security.W021"]
    assert current["SESSION_COOKIE_SECURE"] is current["CSRF_COOKIE_SECURE"] is True
    assert current["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert current["SECURE_REFERRER_POLICY"] == "same-origin"
    assert current["X_FRAME_OPTIONS"] == "DENY"


def test_hsts_options_come_from_the_environment(tmp_path):
    current = production_settings({
        **TLS_ENV, "SECURE_HSTS_SECONDS": "300", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "0", "SECURE_HSTS_PRELOAD": "1",
    }, tmp_path)
    assert current["SECURE_HSTS_SECONDS"] == 300
    assert current["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert current["SECURE_HSTS_PRELOAD"] is True
    assert current["SILENCED_SYSTEM_CHECKS"] == []


def test_a_mistyped_switch_stops_the_start_rather_than_weakening_security(tmp_path):
    result = run({**TLS_ENV, "SECURE_HSTS_INCLUDE_SUBDOMAINS": "ture"}, code=SHOW_SETTINGS, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECURE_HSTS_INCLUDE_SUBDOMAINS must be 1 or 0, not 'ture'" in result.stderr


REQUESTS = """
import json
import django
from django.http import HttpResponse
from django.middleware.security import SecurityMiddleware
from django.test import RequestFactory
django.setup()
middleware = SecurityMiddleware(lambda request: HttpResponse("ok"))
factory = RequestFactory(HTTP_HOST="news.example.org")
answers = {}
for name, path, headers in [("http", "/news/", {}), ("healthz", "/healthz", {}), ("healthz/", "/healthz/", {}),
                            ("https", "/news/", {"HTTP_X_FORWARDED_PROTO": "https"})]:
    response = middleware(factory.get(path, **headers))
    answers[name] = [response.status_code, response.get("Location"), response.get("Strict-Transport-Security")]
print(json.dumps(answers))
"""


def test_plain_http_is_redirected_except_the_health_check(tmp_path):
    result = run(TLS_ENV, code=REQUESTS, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    assert answers["http"] == [301, "https://news.example.org/news/", None]
    assert answers["healthz"] == [200, None, None]
    assert answers["healthz/"] == [200, None, None]
    assert answers["https"] == [200, None, "max-age=31536000; includeSubDomains"]


def test_check_deploy_finds_nothing_behind_a_tls_proxy(tmp_path):
    result = run(TLS_ENV, "check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_complains_without_the_tls_settings(tmp_path):
    """The check above passes because of the settings, not because nothing is checked."""
    result = run({"SECRET_KEY": GOOD_KEY}, "check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def cacheable_app(calls):
    def app(environ, start_response):
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/html"), ("Cache-Control", "public, s-maxage=300"),
                                  ("Strict-Transport-Security", "max-age=31536000")])
        return [b"<p>story</p>"]
    return app


def request(app, proto):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/news/story/", "QUERY_STRING": "",
               "HTTP_HOST": "news.example.org", "wsgi.url_scheme": "http", "HTTP_X_FORWARDED_PROTO": proto}
    started = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: started.append((status, dict(headers)))))
    return started[0][1], body


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
                   ALLOWED_HOSTS=["news.example.org"])
def test_the_page_cache_never_answers_plain_http_when_https_is_enforced():
    """byline/edge.py answers before Django's security middleware: a page cached from an HTTPS request must
    not be handed to a plain HTTP one, which Django redirects; and the cached copy keeps its HSTS header."""
    cache.clear()
    calls = []
    app = PageCache(cacheable_app(calls), local_seconds=60)
    assert request(app, "https")[0]["X-Cache"] == "MISS"
    headers, _ = request(app, "https")
    assert headers["X-Cache"] == "HIT" and headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "X-Cache" not in request(app, "http")[0]  # straight to the app, i.e. Django, which redirects it
    assert calls == ["/news/story/", "/news/story/"]
