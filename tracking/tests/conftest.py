import pytest

from tracking.endpoint import PixelEndpoint, write_hits


class InlineRecorder:
    """Writes each hit in the calling thread, inside the test's transaction."""

    def record(self, row, timeout=None):
        write_hits([row])
        return True


def not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not the pixel"]


@pytest.fixture
def pixel_app():
    return PixelEndpoint(not_found, recorder=InlineRecorder())
