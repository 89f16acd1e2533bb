"""Fixtures for the wire desk: the IPTC examples, and a local HTTP server standing in for agencies' picture
servers (tests never reach the internet)."""

import copy
import io
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image


def _shared_ninjs():
    """IPTC's ninjs examples and schemas, in the workplace's shared folder beside the repository (tests may
    read it; the product never does). Looked for beside this checkout and its parents, then at
    BYLINE_SHARED_DIR or /work/shared, so that a clone made anywhere finds it."""
    here = Path(__file__).resolve()
    candidates = [Path(os.environ["BYLINE_SHARED_DIR"])] if os.environ.get("BYLINE_SHARED_DIR") else []
    candidates += [parent / "shared" for parent in here.parents] + [Path("/work/shared")]
    for candidate in candidates:
        if (candidate / "ninjs" / "examples").is_dir():
            return candidate / "ninjs"
    raise RuntimeError("IPTC's ninjs examples were not found: set BYLINE_SHARED_DIR to the shared folder")


NINJS = _shared_ninjs()
EXAMPLES = NINJS / "examples"
SCHEMAS = NINJS / "schemas"


def example_files():
    files = sorted(EXAMPLES.rglob("*.json"))
    assert files, f"no ninjs examples under {EXAMPLES}"  # an empty list would skip the tests silently
    return files


def jpeg(width=64, height=48, color=(200, 60, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG")
    return buffer.getvalue()


class PictureServer:
    """Serves a small JPEG at every path, except /missing (404) and /text (an HTML page)."""

    def __init__(self):
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                if self.path.startswith("/missing"):
                    self.send_response(404)
                    body, ctype = b"gone", "text/plain"
                elif self.path.startswith("/text"):
                    self.send_response(200)
                    body, ctype = b"<html>not a picture</html>", "text/html"
                else:
                    self.send_response(200)
                    body, ctype = jpeg(), "image/jpeg"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def localize(self, raw):
        """A copy of a ninjs document whose every rendition href points at this server."""
        document = copy.deepcopy(raw)
        counter = [0]

        def walk(value):
            if isinstance(value, dict):
                for key, item in value.items():
                    if key == "href" and isinstance(item, str):
                        counter[0] += 1
                        value[key] = f"{self.url}/picture-{counter[0]}.jpg"
                    else:
                        walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(document)
        return document

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def picture_server(settings):
    server = PictureServer()
    settings.FETCH_ALLOW_HOSTS = ["127.0.0.1"]
    yield server
    server.close()


@pytest.fixture
def load_example():
    def load(relative):
        return json.loads((EXAMPLES / relative).read_text(encoding="utf-8"))

    return load
