import pytest

from tracking.endpoint import PixelEndpoint, write_hits

from .helpers import Rsgi


class InlineRecorder:
    """Writes each hit in the calling thread, inside the test's transaction."""

    def record(self, row, timeout=None):
        write_hits([row])
        return True

    async def record_async(self, row, timeout=None):
        return self.record(row)


def not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not the pixel"]


@pytest.fixture(params=["wsgi", "rsgi"])
def pixel_app(request):
    """The pixel as gunicorn or granian's WSGI interface serves it, and as granian's RSGI interface does."""
    app = PixelEndpoint(not_found, recorder=InlineRecorder())
    return app if request.param == "wsgi" else Rsgi(app)
