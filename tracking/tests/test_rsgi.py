"""Served over RSGI (granian's fast interface), everything that is not the pixel reaches the site as WSGI
would have it: the same environ granian's WSGI interface builds, and the site's answer unchanged."""


from byline.server import Server
from tracking.pixel import Pixel

from .helpers import RsgiProtocol, RsgiScope, run_coroutine


def echo(environ, start_response):
    seen = {key: value for key, value in environ.items() if isinstance(value, str)}
    seen["body"] = environ["wsgi.input"].read().decode()
    start_response("201 Created", [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
    return iter([repr(seen).encode(), b"|second chunk"])


def serve(app, method="GET", path="/", query="", headers=(), body=b""):
    protocol = RsgiProtocol(body)
    scope = RsgiScope(method, path, query, "198.51.100.4:40000", list(headers), server="127.0.0.1:8000")
    run_coroutine(Server(app, Pixel()).__rsgi__(scope, protocol))
    return protocol.response


def test_a_page_request_reaches_the_site_with_a_wsgi_environ_and_its_answer_comes_back_whole():
    response = serve(echo, "POST", "/news/café/", "page=2&q=a%20b", headers=[
        ("host", "news.example"), ("cookie", "sessionid=x"), ("cookie", "csrftoken=y"), ("accept", "text/html"),
        ("x-dup", "1"), ("x-dup", "2"), ("content-type", "application/x-www-form-urlencoded"),
        ("content-length", "7")], body=b"title=1")
    assert response.status == 201
    assert [value for key, value in response.headers if key == "Set-Cookie"] == ["a=1", "b=2"]
    body, second = response.body.rsplit(b"|", 1)
    assert second == b"second chunk"
    seen = eval(body)  # the repr of a dict of strings made just above
    assert seen["REQUEST_METHOD"] == "POST"
    assert seen["PATH_INFO"].encode("latin-1").decode("utf-8") == "/news/café/"  # PEP 3333: bytes as Latin-1
    assert seen["QUERY_STRING"] == "page=2&q=a%20b"
    assert seen["REMOTE_ADDR"] == "198.51.100.4"
    assert (seen["SERVER_NAME"], seen["SERVER_PORT"], seen["wsgi.url_scheme"]) == ("127.0.0.1", "8000", "http")
    assert seen["HTTP_HOST"] == "news.example"
    assert seen["HTTP_COOKIE"] == "sessionid=x; csrftoken=y"
    assert seen["HTTP_X_DUP"] == "1,2"
    assert (seen["CONTENT_TYPE"], seen["CONTENT_LENGTH"]) == ("application/x-www-form-urlencoded", "7")
    assert "HTTP_CONTENT_TYPE" not in seen and seen["body"] == "title=1"


def test_a_header_spelled_with_underscores_cannot_pass_for_a_forwarded_address():
    response = serve(echo, headers=[("x_forwarded_for", "192.0.2.1")])
    assert b"HTTP_X_FORWARDED_FOR" not in response.body


def test_a_site_that_raises_answers_500_and_the_server_goes_on():
    def broken(environ, start_response):
        raise RuntimeError("boom")

    assert serve(broken).status == 500
    assert serve(echo).status == 201
