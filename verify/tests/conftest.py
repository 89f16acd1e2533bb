"""A partner's web site on loopback, and the story its pages copy."""

import io
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.images import ImageFile
from wagtail.rich_text import RichText

from images.factories import BylineImageFactory, gradient_jpeg
from republish.factories import RepublishingPolicyFactory
from republish.handout import build_handout
from stories.factories import AuthorFactory, StoryPageFactory


class PartnerSite:
    """Serves `pages[path] = (status, headers, body)` (or a callable taking the handler) on 127.0.0.1 and
    remembers each request as (path, headers)."""

    def __init__(self):
        self.pages, self.requests = {}, []
        self.release = threading.Event()  # handlers that stall wait for this; set when the test ends
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                site.requests.append((self.path, dict(self.headers)))
                page = site.pages.get(self.path)
                if page is None:
                    page = (404, {"Content-Type": "text/html"}, "<h1>Not found</h1>")
                if callable(page):
                    page(self, site)
                    return
                status, headers, body = page
                body = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def url(self, path, host="127.0.0.1"):
        return f"http://{host}:{self.port}{path}"

    def html(self, path, body, status=200, **headers):
        self.pages[path] = (status, {"Content-Type": "text/html; charset=utf-8", **headers}, body)
        return self.url(path)

    def paths(self):
        return [path for path, _ in self.requests]


NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|\d+)(\.(0x[0-9a-f]+|\d+))*$|^[0-9a-f:.]*:[0-9a-f:.]*$", re.IGNORECASE)


@pytest.fixture(autouse=True)
def no_dns(monkeypatch):
    """These tests stay on loopback: looking up any name but localhost (addresses, however spelled, need no
    DNS) fails loudly instead of asking a DNS server."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host != "localhost" and not NUMERIC_HOST.match(str(host)):
            raise AssertionError(f"a test tried to look up {host!r} in DNS")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def partner():
    site = PartnerSite()
    site.thread.start()
    yield site
    site.release.set()
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture
def verify_settings(settings):
    """The partner site is on loopback: allowed by name, as BYLINE_FETCH_ALLOW_HOSTS=127.0.0.1 would."""
    settings.FETCH_ALLOW_HOSTS = ["127.0.0.1"]
    settings.VERIFY_HOST_INTERVAL = 0
    settings.VERIFY_TOTAL_TIMEOUT = 5
    return settings


@pytest.fixture
def policy(site):
    return RepublishingPolicyFactory(site=site)


BODY = [
    ("paragraph", ('<p>The council <b>voted</b> 5-2 on Tuesday to pass the harbor budget. '
                  '<a href="https://example.org/minutes">The minutes</a> are online.</p>')),
    ("paragraph", ('<p>The plan sets aside $4 million for dredging, according to '
                  '<a href="https://example.org/budget.pdf">the budget document</a>.</p>')),
    ("heading", "What comes next"),
    ("paragraph", ("<p>Residents spoke for three hours before the vote, many of them fishermen worried about the "
                  '<a href="https://example.org/channel">shipping channel</a>.</p>')),
    ("paragraph", "<p>Mayor Lena Park said the vote was a turning point for the waterfront.</p>"),
    ("quote", {"text": "We will be back next year.", "attribution": "A tenant"}),
    ("paragraph", ("<p>A second reading is scheduled for June, when the council will also hear from the port "
                  "authority.</p>")),
    ("paragraph", "<p>The harbor master did not respond to a request for comment by Wednesday evening.</p>"),
]


def story_body(blocks=BODY, image=None):
    body = []
    for kind, value in blocks:
        body.append((kind, RichText(value) if kind == "paragraph" else value))
        if kind == "heading" and image is not None:
            body.append(("image", {"image": image, "caption": "Boats in the harbor"}))
    return body


def picture(title, filename):
    return BylineImageFactory(title=title, file=ImageFile(io.BytesIO(gradient_jpeg(size=(64, 36))), name=filename))


@pytest.fixture
def story(news, site):
    lead, inline = picture("Harbor at dawn", "harbor-at-dawn.jpg"), picture("Fishing boats", "fishing-boats.jpg")
    return StoryPageFactory(
        parent=news, title="Council passes the harbor budget", dateline_place="PORT ALDER", lead_image=lead,
        authors=[AuthorFactory(name="Rosa Delgado"), AuthorFactory(name="Sam Ortiz")],
        body=story_body(image=inline),
    )


@pytest.fixture
def handout(story, policy):
    return build_handout(story, policy)


def partner_page(handout, *, head=None, article=None, title=None):
    """A partner's story page as a typical news site renders it: its own head, header, menu, sidebar and
    footer around our handout pasted whole into the article, the head snippet pasted into the head."""
    head = handout.head if head is None else head
    article = handout.html if article is None else article
    title = title or "Council passes the harbor budget"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} – The Partner Gazette</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="og:title" content="{title}">
{head}
<link rel="stylesheet" href="/assets/site.css">
<script src="/assets/site.js" defer></script>
</head>
<body class="single-post">
<header class="site-header"><a class="logo" href="/">The Partner Gazette</a>
<nav><ul><li><a href="/news/">News</a></li><li><a href="/about/">About us</a></li></ul></nav></header>
<main>
<article class="post">
<div class="entry-content">
{article}
</div>
</article>
<aside class="sidebar"><h2>Most read</h2><ul><li><a href="/ferry-fares/">Ferry fares rise again this summer</a></li>
<li><a href="/school-board/">School board weighs a four-day week</a></li></ul></aside>
</main>
<footer class="site-footer"><p>© 2026 The Partner Gazette. All rights reserved.
Made with care in Port Alder.</p></footer>
</body>
</html>
"""
