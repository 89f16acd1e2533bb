from io import BytesIO
from wsgiref.util import setup_testing_defaults


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        self.status_code = int(status.split()[0])

    def header(self, name):
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


def request(app, path, *, method="GET", query="", referer=None, user_agent=None, ip="203.0.113.7", headers=None):
    """One WSGI request, as a browser loading the pixel would send it."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": ip,
               "wsgi.input": BytesIO()}
    if user_agent is None:
        user_agent = BROWSER
    if user_agent:
        environ["HTTP_USER_AGENT"] = user_agent
    if referer:
        environ["HTTP_REFERER"] = referer
    environ.update(headers or {})
    setup_testing_defaults(environ)
    captured = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"], captured["headers"] = status, response_headers

    body = b"".join(app(environ, start_response))
    return Response(captured["status"], captured["headers"], body)


BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")
