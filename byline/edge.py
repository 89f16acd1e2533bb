"""A small page cache in front of Django.

Readers ask for the same story pages over and over; answering them from memory without entering Django is
what lets one small machine serve a news spike. Pages opt in by sending `Cache-Control: public, s-maxage=N`
and no cookie (see `stories.models.CachedPage`). Each worker keeps its own copy for a few seconds
(`EDGE_LOCAL_SECONDS`) in front of the shared Django cache (Redis or files), which holds pages for N seconds
and is purged when a page is published again; so a purge reaches every reader within those few seconds.

Requests that carry a session cookie (editors) or use a method other than GET/HEAD always go to Django.
The cache is keyed by path and the query parameters that change a public page (`PAGE_QUERY_PARAMETERS`), and
nothing else: Byline serves one public site per installation. Any other parameter (utm_source, fbclid, a
random cache buster) neither fills nor bypasses the cache: the reader gets the page as it is without it.
"""

import re
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

from django.conf import settings
from django.core.cache import cache
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host

GENERATION_KEY = "edge:generation"
# Header names kept from Django's response; anything else (cookies above all) is never stored.
STORED_HEADERS = {"content-type", "cache-control", "content-language", "vary", "x-frame-options",
                  "x-content-type-options", "referrer-policy", "cross-origin-opener-policy", "link",
                  "access-control-allow-origin",  # the handout and ninjs JSON are read by partners' tools
                  "strict-transport-security",  # Django sends it on HTTPS answers only; HTTP ignores it
                  "content-security-policy"}  # the same for every reader: public pages carry no nonce


def _page_number(value):
    """A section's page number, as its paginator reads it, or None for a value that shows page 1 anyway.
    Bounded, so that `?page=N` cannot fill the cache with copies of the last page (Django's paginator answers
    any number past the end with it): 10,000 pages of 20 stories."""
    if re.fullmatch(r"[0-9]{1,5}", value.strip()) and 1 < int(value) <= 10_000:
        return str(int(value))
    return None


# The query parameters that change a public page, each with what normalizes its value (None: as if unsent).
# `page`: stories.models.SectionPage's pagination, the only request.GET a cached page reads.
PAGE_QUERY_PARAMETERS = {"page": _page_number}


def _normalized_query(query):
    """Only the parameters in PAGE_QUERY_PARAMETERS, normalized, sorted; the last value of a repeated name,
    as request.GET.get() reads it."""
    kept = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        normalize = PAGE_QUERY_PARAMETERS.get(name)
        value = normalize(value) if normalize else None
        if value is None:
            kept.pop(name, None)
        else:
            kept[name] = value
    return urlencode(sorted(kept.items()))


def _generation():
    return cache.get_or_set(GENERATION_KEY, 1, None)


def _key(path, generation=None):
    return f"edge:{generation or _generation()}:{path}"


def purge(paths):
    """Forget the given paths (with any query string variants served so far) in the shared cache."""
    generation = _generation()
    for path in paths:
        path = urlsplit(path).path
        queries_key = f"edge:queries:{generation}:{path}"
        queries = cache.get(queries_key) or ()
        cache.delete_many([_key(path, generation), queries_key] + [_key(f"{path}?{q}", generation) for q in queries])


def purge_all():
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 2, None)


def _cache_seconds(headers):
    """Seconds a shared cache may keep this response, or 0 when it must not."""
    values = {}
    for name, value in headers:
        lname = name.lower()
        if lname == "set-cookie":
            return 0
        if lname == "cache-control":
            for part in value.split(","):
                key, _, arg = part.strip().partition("=")
                values[key.lower()] = arg
    if "public" not in values or "private" in values or "no-store" in values:
        return 0
    try:
        return int(values.get("s-maxage") or values.get("max-age") or 0)
    except ValueError:
        return 0


class PageCache:
    def __init__(self, app, local_seconds=None):
        self.app = app
        self.local_seconds = settings.EDGE_LOCAL_SECONDS if local_seconds is None else local_seconds
        self.local = {}

    def lookup_local(self, environ):
        """(status, headers, body) of a fresh copy this worker holds, or None; never any I/O, so that an
        event loop (the RSGI side of byline/server.py) may answer cached pages without a thread."""
        if not self._may_use_cache(environ):
            return None
        entry = self.local.get(self._cache_key(environ)[0])
        if entry is None or entry[0] < time.monotonic():
            return None
        _, status, headers, body = entry
        return status, headers + [("X-Cache", "HIT")], b"" if environ["REQUEST_METHOD"] == "HEAD" else body

    @staticmethod
    def _cache_key(environ):
        path = environ.get("PATH_INFO", "") or "/"
        query = _normalized_query(environ.get("QUERY_STRING", ""))
        return (f"{path}?{query}" if query else path), path, query

    def __call__(self, environ, start_response):
        if not self._may_use_cache(environ):
            return self.app(environ, start_response)
        key, path, query = self._cache_key(environ)

        now = time.monotonic()
        entry = self.local.get(key)
        if entry is None or entry[0] < now:
            entry = None
            try:
                stored = cache.get(_key(key))
            except Exception:  # the shared cache is down: Django answers uncached, and /healthz says why
                return self.app(environ, start_response)
            if stored is not None:
                entry = (now + self.local_seconds, *stored)
                self.local[key] = entry
        if entry is not None:
            _, status, headers, body = entry
            start_response(status, headers + [("X-Cache", "HIT")])
            return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]
        return self._fill(environ, start_response, key, path, query)

    def _render(self, environ):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        status, headers = captured["status"], captured["headers"]
        seconds = _cache_seconds(headers) if status.startswith("200") and environ["REQUEST_METHOD"] == "GET" else 0
        return status, headers, body, seconds

    def _fill(self, environ, start_response, key, path, query):
        # Django first sees the request as sent: what it does not cache (a login page's ?next=, a pixel's
        # ?v=) needs its parameters. A cacheable page asked for with parameters that do not change it is
        # rendered again without them, and that copy is stored and served, so no reader's query string ever
        # shapes what other readers are served.
        status, headers, body, seconds = self._render(environ)
        if seconds > 0 and environ.get("QUERY_STRING", "") != query:
            status, headers, body, seconds = self._render(dict(environ, QUERY_STRING=query))
        start_response(status, headers + [("X-Cache", "MISS")])
        if seconds > 0:
            kept = [(n, v) for n, v in headers if n.lower() in STORED_HEADERS]
            kept.append(("Content-Length", str(len(body))))
            generation = _generation()
            cache.set(_key(key, generation), (status, kept, body), seconds)
            if query:
                queries_key = f"edge:queries:{generation}:{path}"
                cache.set(queries_key, set(cache.get(queries_key) or ()) | {query}, seconds)
            self.local[key] = (time.monotonic() + self.local_seconds, status, kept, body)
            if len(self.local) > 10_000:
                self.local.clear()
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _may_use_cache(self, environ):
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return False
        cookie_header = environ.get("HTTP_COOKIE")
        # Django's own parser, so that whatever Django would read as a session, the cache sees too.
        if cookie_header and settings.SESSION_COOKIE_NAME in parse_cookie(cookie_header):
            return False
        if settings.SECURE_SSL_REDIRECT and not _is_secure(environ):
            return False  # Django redirects it to HTTPS; a cached copy must not answer it over plain HTTP
        host, _ = split_domain_port(environ.get("HTTP_HOST", ""))
        allowed = settings.ALLOWED_HOSTS if not settings.DEBUG else ["*"]
        return bool(host) and validate_host(host, allowed)


def _is_secure(environ):
    """As Django's request.is_secure(): the TLS proxy's header when one is configured and sent, else the scheme."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = environ.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"
