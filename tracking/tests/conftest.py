import pytest

from tracking.endpoint import PixelEndpoint, write_hits
from tracking.journal import Journal

from .helpers import Rsgi


class InlineRecorder:
    """Writes each hit in the calling thread, inside the test's transaction."""

    def record(self, row, timeout=None):
        write_hits([row])
        return True



class InlineCommitter:
    """The RSGI side's committer, writing each journaled hit at once inside the test's transaction."""

    def full(self):
        return False

    def add(self, row, mark):
        write_hits([row])


def not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not the pixel"]


@pytest.fixture(params=["wsgi", "rsgi"])
def pixel_app(request, tmp_path):
    """The pixel as gunicorn or granian's WSGI interface serves it, and as granian's RSGI interface does
    (through a journal of its own)."""
    if request.param == "wsgi":
        return PixelEndpoint(not_found, recorder=InlineRecorder())
    return Rsgi(PixelEndpoint(not_found, journal=Journal(tmp_path / "journal"), committer=InlineCommitter()))
