"""The server adapters: how granian (RSGI or WSGI) and gunicorn (WSGI) hand requests to Byline.

`Server` is the site's outermost application (`byline.wsgi:application`). Pixel requests go to the pixel
(tracking/pixel.py), everything else to the site, Django behind the page cache (byline/edge.py):

- WSGI (gunicorn gthread, `granian --interface wsgi`): called as a WSGI application in the server's threads;
  each pixel request waits in its thread until its hit is committed.
- RSGI (`granian --interface rsgi byline.wsgi:application`), the fast one, on granian's event loop: granian
  finds `__rsgi__`. The pixel answers on the loop (its hits journaled, committed a moment later); the site
  runs as WSGI in a pool of threads (`DJANGO_THREADS`), except pages this worker holds in its page cache,
  answered on the loop.

This module knows no app: byline/wsgi.py hands it the pixel.
"""

import asyncio
import io
import logging
import sys
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)

# Threads running the rest of the site (Django) when served over RSGI, per worker process: what
# --blocking-threads is under WSGI.
DJANGO_THREADS = 16


class Server:
    """`site`: the WSGI application for everything but the pixel. `pixel`: answers requests under
    `pixel.prefix` (tracking.pixel.Pixel)."""

    def __init__(self, site, pixel, pool=None):
        self.site = site
        self.pixel = pixel
        self._pool = pool  # under RSGI: runs the site, and the database look-ups of the pixel
        self._started = False

    # ---- WSGI

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(self.pixel.prefix):
            return self.site(environ, start_response)
        status, headers, body = self.pixel.answer(environ.get("REQUEST_METHOD", "GET"), environ)
        start_response("200 OK" if status == 200 else "503 Service Unavailable", list(headers))
        return [body] if body else []

    # ---- RSGI

    def _django_pool(self):
        if self._pool is None:
            self._pool = ThreadPoolExecutor(DJANGO_THREADS, thread_name_prefix="django")
        return self._pool

    def __rsgi_init__(self, loop):
        self._started = True
        self.pixel.start_journal(self._django_pool(), loop)

    def __rsgi_del__(self, loop):
        self.pixel.stop(self._django_pool())
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    async def __rsgi__(self, scope, proto):
        if scope.proto != "http":
            return
        path = scope.path
        pixel = self.pixel
        if not path.startswith(pixel.prefix):
            return await self._site(scope, proto)
        if not self._started:  # called without granian's start-up (tests)
            self.__rsgi_init__(None)
        method = scope.method
        environ = None
        if method == "GET":
            when = pixel.clock()
            if pixel.needs_salt(when.date()):  # once a day per process: the database is asked in a thread
                await asyncio.get_running_loop().run_in_executor(self._django_pool(), pixel.fetch_salt, when.date())
            try:
                headers = scope.headers
                environ = {"PATH_INFO": path, "QUERY_STRING": scope.query_string,
                           "REMOTE_ADDR": remote_address(scope.client)}
                for name, key in pixel.headers:
                    value = headers.get(name)
                    if value is not None:
                        environ[key] = value
            except Exception:  # the pixel counts it as unreadable
                logger.exception("Pixel request could not be read")
                environ = {}
        else:
            when = None
        status, headers, body = pixel.answer(method, environ, when, with_length=False)
        if body:
            proto.response_bytes(status, headers, body)
        else:
            proto.response_empty(status, headers)

    async def _site(self, scope, proto):
        """The rest of the site: the WSGI application, run in a thread of the pool."""
        body = await proto()
        environ = wsgi_environ(scope, body)
        lookup_local = getattr(self.site, "lookup_local", None)  # the page cache (byline/edge.py)
        cached = lookup_local(environ) if lookup_local else None
        if cached is not None:  # a page this worker holds: answered here, no thread needed
            status, headers, content = int(cached[0].split(" ", 1)[0]), cached[1], cached[2]
        else:
            status, headers, content = await asyncio.get_running_loop().run_in_executor(
                self._django_pool(), self._run_wsgi, environ)
        proto.response_bytes(status, headers, content)

    def _run_wsgi(self, environ):
        response = []

        def start_response(status, headers, exc_info=None):
            response[:] = [int(status.split(" ", 1)[0]), headers]
            return chunks.append

        chunks = []
        try:
            result = self.site(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            logger.exception("Request failed: %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"])
            return 500, [("Content-Type", "text/plain")], b"Server error.\n"
        return response[0], response[1], b"".join(chunks)


def remote_address(client):
    """The address in RSGI's "host:port" (or "[v6]:port")."""
    host = client.rpartition(":")[0] if client.count(":") == 1 or client.startswith("[") else client
    return host.strip("[]")


def wsgi_environ(scope, body):
    """A PEP 3333 environ for an RSGI request, as granian's own WSGI interface builds it."""
    server, _, port = scope.server.rpartition(":")
    environ = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        # RSGI hands over the path decoded as UTF-8; WSGI wants its bytes as Latin-1.
        "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": server.strip("[]"),
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": remote_address(scope.client),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    for name, value in scope.headers.items():
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name == "content-length":
            environ["CONTENT_LENGTH"] = value
        elif "_" not in name:  # "X_Forwarded_For" must not pass for X-Forwarded-For
            key = "HTTP_" + name.upper().replace("-", "_")
            if key in environ:
                value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
            environ[key] = value
    if scope.authority and "HTTP_HOST" not in environ:  # HTTP/2
        environ["HTTP_HOST"] = scope.authority
    return environ
