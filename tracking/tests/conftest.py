import pytest

from .helpers import inline_pixel


@pytest.fixture(params=["wsgi", "rsgi"])
def pixel_app(request, tmp_path):
    """The pixel as gunicorn or granian's WSGI interface serves it, and as granian's RSGI interface does
    (through a journal of its own)."""
    return inline_pixel(request.param, tmp_path / "journal")
