import asyncio
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from wsgiref.util import setup_testing_defaults


def run_coroutine(coroutine):
    """asyncio.run in a thread of its own: the browser tests' Playwright leaves a loop running in the
    test thread, where asyncio.run refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        self.status_code = int(str(status).split()[0])

    def header(self, name):
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


def request(app, path, *, method="GET", query="", referer=None, user_agent=None, ip="203.0.113.7", headers=None):
    """One request, as a browser loading the pixel would send it: through WSGI, or through RSGI when `app` is
    an `Rsgi` (as granian serves the site in production)."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": ip,
               "wsgi.input": BytesIO()}
    if user_agent is None:
        user_agent = BROWSER
    if user_agent:
        environ["HTTP_USER_AGENT"] = user_agent
    if referer:
        environ["HTTP_REFERER"] = referer
    environ.update(headers or {})
    if isinstance(app, Rsgi):
        return app.request(environ)
    setup_testing_defaults(environ)
    captured = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"], captured["headers"] = status, response_headers

    body = b"".join(app(environ, start_response))
    return Response(captured["status"], captured["headers"], body)


class RsgiHeaders:
    def __init__(self, pairs):
        self.pairs = pairs

    def get(self, name, default=None):
        return next((value for key, value in self.pairs if key == name), default)

    def items(self):
        return list(self.pairs)


class RsgiScope:
    """What granian hands an RSGI application for an HTTP request."""

    proto, http_version, rsgi_version, scheme, authority = "http", "1.1", "1.5", "http", None

    def __init__(self, method, path, query_string, client, headers, server="testserver:80"):
        self.method, self.path, self.query_string, self.client, self.server = (method, path, query_string, client,
                                                                               server)
        self.headers = RsgiHeaders(headers)


class RsgiProtocol:
    def __init__(self, body=b""):
        self.body, self.response = body, None

    async def __call__(self):
        return self.body

    def response_bytes(self, status, headers, body):
        self.response = Response(status, headers, body)

    def response_empty(self, status, headers):
        self.response = Response(status, headers, b"")


class Rsgi:
    """An application driven through its RSGI side (`__rsgi__`), one request at a time, in the test's thread.

    Without an event loop: Django keeps a separate database connection per async context, outside the test's
    transaction. With the recorder writing inline and the day's salt made beforehand, as a warm server has
    it, a pixel request never has to wait; if it tried to, the request fails here. Other paths go to the site
    in the application's thread pool, which needs a loop."""

    def __init__(self, app):
        self.app = app

    def request(self, environ, body=b""):
        from django.utils import timezone

        from tracking.visitors import salt_for

        salt_for(timezone.now().date())
        headers = [(key[5:].lower().replace("_", "-"), value) for key, value in environ.items()
                   if key.startswith("HTTP_")]
        scope = RsgiScope(environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["QUERY_STRING"],
                          f"{environ['REMOTE_ADDR']}:54321", headers)
        protocol = RsgiProtocol(body)
        coroutine = self.app.__rsgi__(scope, protocol)
        if not environ["PATH_INFO"].startswith("/pixel/"):  # the site runs in the app's threads: a loop is needed
            run_coroutine(coroutine)
            return protocol.response
        try:
            coroutine.send(None)
        except StopIteration:
            pass
        else:
            coroutine.close()
            raise AssertionError("the pixel waited for something")
        assert protocol.response is not None, "the application did not answer"
        return protocol.response


BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")


class InlineRecorder:
    """Writes each hit in the calling thread, inside the test's transaction."""

    def record(self, row, timeout=None):
        from tracking.writers import write_hits

        write_hits([row])
        return True


class InlineCommitter:
    """The RSGI side's committer, writing each journaled hit at once inside the test's transaction."""

    def full(self):
        return False

    def add(self, row, mark):
        from tracking.writers import write_hits

        write_hits([row])


def not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not the pixel"]


def inline_pixel(interface, journal_dir):
    """The pixel as gunicorn or granian's WSGI interface serves it ("wsgi"), or as granian's RSGI interface
    does ("rsgi", through a journal of its own in `journal_dir`), storing each hit at once."""
    from byline.server import Server
    from tracking.journal import Journal
    from tracking.pixel import Pixel
    from tracking.recorder import JournaledRecorder

    if interface == "wsgi":
        return Server(not_found, Pixel(InlineRecorder()))
    return Rsgi(Server(not_found, Pixel(JournaledRecorder(journal=Journal(journal_dir), committer=InlineCommitter()))))
