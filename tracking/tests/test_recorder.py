"""Group commit for WSGI servers: concurrent hits share transactions, and nobody is told "recorded" before
the commit."""

import threading
from datetime import UTC, datetime

import pytest

from byline.server import Server
from tracking.models import Hit
from tracking.pixel import Pixel
from tracking.recorder import GroupCommitRecorder
from tracking.writers import write_hits

from .helpers import request

# The writer thread opens its own transactions, so every test here needs a real, shared database.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def recorders():
    """Recorders made by a test, stopped afterwards so their connections close before the database is dropped."""
    made = []
    yield lambda write: made.append(GroupCommitRecorder(write)) or made[-1]
    for recorder in made:
        recorder.stop()


def holding_its_first_batch(recorders):
    """A recorder whose first commit waits until the test releases it; `batches` records what each wrote."""
    started, release = threading.Event(), threading.Event()
    batches = []

    def write(rows):
        batches.append(list(rows))
        if len(batches) == 1:
            started.set()
            assert release.wait(10)

    return recorders(write), batches, started, release


def test_hits_arriving_during_a_commit_are_written_together_in_the_next_one(recorders):
    recorder, batches, first_batch_started, release_first_batch = holding_its_first_batch(recorders)
    results = []
    first = threading.Thread(target=lambda: results.append(recorder.record("first")))
    first.start()
    assert first_batch_started.wait(10)
    others = [threading.Thread(target=lambda n=n: results.append(recorder.record(f"hit {n}"))) for n in range(30)]
    for thread in others:
        thread.start()
    for _ in range(1000):  # until every request thread has queued its hit behind the running commit
        if recorder.queued() == 30:
            break
        threading.Event().wait(0.005)
    assert results == []  # nobody has been answered while their hit was not yet committed
    release_first_batch.set()
    for thread in [first, *others]:
        thread.join(10)
    assert results == [True] * 31
    assert batches[0] == ["first"]
    assert sorted(batches[1]) == sorted(f"hit {n}" for n in range(30))


def test_a_failed_write_is_reported_and_answered_503_not_with_the_gif(recorders):
    def broken(rows):
        raise RuntimeError("disk full")

    recorder = recorders(broken)
    assert recorder.record({"anything": 1}) is False
    app = Server(lambda environ, start_response: [], Pixel(recorder))
    response = request(app, "/pixel/1/html/0000000000000000.gif")
    assert response.status_code == 503 and response.body.startswith(b"Not counted")


def test_rows_from_many_threads_all_reach_the_database(recorders):
    recorder = recorders(write_hits)
    at = datetime(2026, 11, 20, 12, tzinfo=UTC)
    rows = [{"received_at": at, "story_id": 1, "via": "html", "copy": f"https://p.example/{n}", "visitor": "v",
             "filtered": ""} for n in range(50)]
    results = []
    threads = [threading.Thread(target=lambda row=row: results.append(recorder.record(row))) for row in rows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [True] * 50
    assert sorted(Hit.objects.values_list("copy", flat=True)) == sorted(row["copy"] for row in rows)
