"""A broken agency picture costs its item the picture, never the batch: the item imports without it and its
result says why, like a picture that could not be fetched, and every other item in the batch imports."""

import io
import json
import struct
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command
from PIL import Image

from stories.models import StoryPage
from wire.pictures import PictureError, check_image

from .conftest import jpeg

pytestmark = pytest.mark.django_db


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, idat):
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def good_png(width=64, height=48):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def bad_crc_png():
    data = bytearray(good_png())
    start = data.index(b"IDAT") + 4
    data[start + 10] ^= 0xFF  # the chunk no longer matches its checksum
    return bytes(data)


BROKEN = {
    # Half a JPEG: the header reads and Pillow's verify() passes; decoding the pixels fails.
    "truncated-jpeg": (jpeg(640, 480)[:1500], "image/jpeg"),
    # A PNG whose picture data is not a zlib stream, with a correct checksum so that only decoding finds out.
    "corrupt-png-data": (png(64, 48, b"\x78\x9c" + b"not deflate data" * 8), "image/png"),
    "corrupt-png-checksum": (bad_crc_png(), "image/png"),
    "not-an-image": (b"%PDF-1.4\n% a document served as a picture\n", "image/jpeg"),
    # 100 bytes declaring 100,000 x 100,000 pixels: DecompressionBombError if anything tried to decode it.
    "decompression-bomb": (png(100_000, 100_000, zlib.compress(b"\x00" * 100)), "image/png"),
    # Within Pillow's bomb limit but beyond ours: refused before its pixels are decoded.
    "too-many-pixels": (png(10_000, 8_000, zlib.compress(b"\x00" * 100)), "image/png"),
}


class BrokenPictureServer:
    """Serves a good JPEG at /good.jpg and each broken file at /<name>.jpg."""

    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.strip("/").removesuffix(".jpg")
                body, ctype = BROKEN.get(name) or (jpeg(), "image/jpeg")
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(settings):
    server = BrokenPictureServer()
    settings.FETCH_ALLOW_HOSTS = ["127.0.0.1"]
    yield server
    server.close()


def story_with_picture(name, url):
    return {
        "uri": f"urn:byline-test:{name}", "type": "text", "copyrightholder": "Harbor Wire",
        "headlines": [{"role": "main", "value": f"Story with the {name} picture"}],
        "bodies": [{"role": "main", "contenttype": "text/plain", "value": "The council voted on Tuesday."}],
        "associations": [{
            "name": "main-picture", "type": "picture", "uri": f"urn:byline-test:{name}:picture",
            "descriptions": [{"role": "caption", "value": "The council chamber."}],
            "renditions": [{"name": "original", "href": f"{url}/{name}.jpg", "contenttype": "image/jpeg"}],
        }],
    }


def import_batch(tmp_path, items):
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(items))
    out = io.StringIO()
    call_command("import_ninjs", str(path), "--json", stdout=out)
    return {result["uri"]: result for result in map(json.loads, out.getvalue().splitlines())}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_picture_is_refused_with_a_reason(name):
    with pytest.raises(PictureError):
        check_image(BROKEN[name][0])


def test_a_good_picture_passes():
    assert check_image(jpeg()) == "jpg"
    assert check_image(good_png()) == "png"


def test_a_batch_with_broken_pictures_imports_every_story_and_says_which_picture_was_left_out(
        tmp_path, news, server):
    names = ["good", *BROKEN, "good-again"]
    results = import_batch(tmp_path, [story_with_picture(name, server.url) for name in names])

    assert set(results) == {f"urn:byline-test:{name}" for name in names}
    for name in names:
        result = results[f"urn:byline-test:{name}"]
        assert result["status"] == "created", (name, result["reason"])
        story = StoryPage.objects.get(pk=result["id"]).get_latest_revision_as_object()
        if name.startswith("good"):
            assert story.lead_image is not None and story.lead_image.width == 64
            assert "not imported" not in result["reason"]
        else:
            assert story.lead_image is None, name
            assert f"picture urn:byline-test:{name}:picture not imported" in result["reason"], result["reason"]
            assert f"{server.url}/{name}.jpg" in result["reason"]


def test_a_picture_item_that_is_broken_fails_alone(tmp_path, news, server):
    items = [
        {"uri": f"urn:byline-test:{name}:item", "type": "picture", "headlines": [{"value": "A photo"}],
         "renditions": [{"name": "original", "href": f"{server.url}/{name}.jpg", "contenttype": "image/jpeg"}]}
        for name in ["good", "truncated-jpeg", "corrupt-png-data"]
    ]
    path = tmp_path / "pictures.json"
    path.write_text(json.dumps(items))
    out = io.StringIO()
    with pytest.raises(Exception, match="2 item"):
        call_command("import_ninjs", str(path), "--json", stdout=out)
    results = {r["uri"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert results["urn:byline-test:good:item"]["status"] == "created"
    for name in ["truncated-jpeg", "corrupt-png-data"]:
        result = results[f"urn:byline-test:{name}:item"]
        assert result["status"] == "failed"
        assert result["reason"].startswith("the picture could not be fetched: ")
        assert "not a readable picture" in result["reason"]
