import pytest

from appeals import recording
from tracking.filters import RateCap


class InlineRecorder:
    """Writes each event in the calling thread, inside the test's transaction."""

    def record(self, row, timeout=None):
        recording.write_events([row])
        return True


@pytest.fixture(autouse=True)
def inline_recorder(request, monkeypatch):
    if "transactional_db" not in request.fixturenames and "live_server" not in request.fixturenames:
        monkeypatch.setattr(recording, "recorder", InlineRecorder())
    monkeypatch.setattr(recording, "rate_cap", RateCap(limit=30))
