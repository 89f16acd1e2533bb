import pytest

from tracking import filters

from .helpers import inline_pixel


@pytest.fixture(params=["wsgi", "rsgi"])
def pixel_app(request, tmp_path):
    """The pixel as gunicorn or granian's WSGI interface serves it, and as granian's RSGI interface does
    (through a journal of its own)."""
    return inline_pixel(request.param, tmp_path / "journal")


@pytest.fixture
def fresh_caps(monkeypatch):
    """The pixel's caps as a process that just started has them (the settings' defaults), for this test alone."""
    monkeypatch.setattr("tracking.hits.copy_cap", filters.CopyCap(per_reader=20, per_block=200))
    monkeypatch.setattr("tracking.hits.rate_cap", filters.RateCap(limit=30))
