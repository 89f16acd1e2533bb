"""The right appeal within five minutes of a campaign's start or end, even on cached story pages: the minute job
purges the page cache once a boundary has passed, and editors' changes purge it at once."""

from datetime import timedelta
from wsgiref.util import setup_testing_defaults

import lxml.html
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from appeals import selection, switching
from appeals.factories import AppealFactory
from appeals.models import Appeal, BoundaryWatch, SupportSettings
from appeals.switching import SETTLE, purge_at_boundaries
from byline import edge
from byline.edge import PageCache
from stories.factories import StoryPageFactory

from .helpers import NEW_YORK, at

pytestmark = pytest.mark.django_db
START = at(NEW_YORK, 2027, 4, 21, 18)
END = at(NEW_YORK, 2027, 4, 29, 20)


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news)


@pytest.fixture
def campaign():
    return AppealFactory(name="Make a Passover Gift Today!", starts_at=START, ends_at=END)


@pytest.fixture
def purges(monkeypatch):
    calls = []
    real = edge.purge_all
    monkeypatch.setattr(edge, "purge_all", lambda: (calls.append(1), real()))
    return calls


@pytest.fixture
def watched(campaign):
    """The scheduler has been running: the last check was long before the campaign."""
    BoundaryWatch.objects.create(checked_until=START - timedelta(days=1))


def test_the_first_run_purges_because_nobody_knows_what_the_cache_holds(purges):
    assert purge_at_boundaries(now=START) is True
    assert len(purges) == 1
    assert purge_at_boundaries(now=START + timedelta(minutes=1)) is False


def test_a_start_purges_once_on_the_first_run_after_it(watched, purges):
    assert purge_at_boundaries(now=START - timedelta(minutes=1)) is False
    assert purge_at_boundaries(now=START) is False, "a page rendered at the boundary may still be on its way in"
    assert purge_at_boundaries(now=START + SETTLE) is True
    assert purge_at_boundaries(now=START + SETTLE + timedelta(minutes=1)) is False
    assert len(purges) == 1


def test_an_end_purges_too(watched, purges):
    assert purge_at_boundaries(now=START + timedelta(minutes=1)) is True
    assert purge_at_boundaries(now=END - timedelta(minutes=1)) is False
    assert purge_at_boundaries(now=END + timedelta(seconds=50)) is True
    assert len(purges) == 2


def test_a_boundary_missed_while_the_scheduler_was_down_purges_on_its_next_run(watched, purges):
    purge_at_boundaries(now=START - timedelta(hours=1))
    assert purge_at_boundaries(now=START + timedelta(hours=3)) is True


def test_paused_campaigns_and_section_appeals_have_no_boundaries(watched, purges, news):
    Appeal.objects.update(live=False)
    AppealFactory(name="Section", sections=[news])
    purges.clear()
    purge_at_boundaries(now=START - timedelta(minutes=1))
    assert purge_at_boundaries(now=END + timedelta(minutes=1)) is False
    assert purges == []


def test_a_clock_going_back_does_nothing(watched, purges):
    purge_at_boundaries(now=START + timedelta(minutes=1))
    assert purge_at_boundaries(now=START - timedelta(minutes=1)) is False


def test_the_scheduler_command_runs_it(watched, purges, monkeypatch):
    monkeypatch.setattr(switching.timezone, "now", lambda: START + timedelta(seconds=30))
    call_command("switch_appeals", verbosity=0)
    assert len(purges) == 1


def call(app, path):
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "HTTP_HOST": "testserver"}
    setup_testing_defaults(environ)
    started = []
    request_started.disconnect(close_old_connections)  # keep the connection holding the test's data
    request_finished.disconnect(close_old_connections)
    try:
        body = b"".join(app(environ, lambda status, headers, exc_info=None: started.append(headers)))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    x_cache = dict(started[0])["X-Cache"]
    heading = lxml.html.document_fromstring(body).xpath('//section[@class="appeal"]//h2')[0].text
    return x_cache, heading


@pytest.mark.parametrize("boundary,before,after", [
    (START, "Keep the Bay Coast informed", "Make a Passover Gift Today!"),
    (END, "Make a Passover Gift Today!", "Keep the Bay Coast informed"),
])
def test_a_cached_story_page_switches_appeal_within_a_minute_of_the_boundary(
        story, support, watched, monkeypatch, boundary, before, after):
    app = PageCache(WSGIHandler(), local_seconds=0)
    clock = {"now": boundary - timedelta(seconds=1)}
    monkeypatch.setattr(selection, "now", lambda: clock["now"])
    purge_at_boundaries(now=clock["now"])

    assert call(app, story.url) == ("MISS", before)  # rendered a second before the boundary, cached for 300 s
    clock["now"] = boundary + timedelta(seconds=30)
    assert call(app, story.url) == ("HIT", before), "without the job, the old appeal would stay for 5 minutes"

    assert purge_at_boundaries(now=clock["now"]) is True  # the minute job's next run after the boundary
    assert call(app, story.url) == ("MISS", after)
    assert call(app, story.url) == ("HIT", after)


def test_an_editors_change_reaches_cached_pages_at_once(
        story, support, monkeypatch, django_capture_on_commit_callbacks):
    app = PageCache(WSGIHandler(), local_seconds=0)
    monkeypatch.setattr(selection, "now", lambda: START + timedelta(hours=1))
    assert call(app, story.url) == ("MISS", "Keep the Bay Coast informed")
    with django_capture_on_commit_callbacks(execute=True):
        appeal = AppealFactory(name="Make a Passover Gift Today!", starts_at=START, ends_at=END)
    assert call(app, story.url) == ("MISS", "Make a Passover Gift Today!")

    with django_capture_on_commit_callbacks(execute=True):
        variant = appeal.variants.get()
        variant.heading = "Passover: gifts doubled"
        variant.save()
    assert call(app, story.url) == ("MISS", "Passover: gifts doubled")

    with django_capture_on_commit_callbacks(execute=True):
        appeal.delete()
    assert call(app, story.url) == ("MISS", "Keep the Bay Coast informed")

    with django_capture_on_commit_callbacks(execute=True):
        settings = SupportSettings.objects.get()
        settings.appeal_heading = "Our spring member drive"
        settings.save()
    assert call(app, story.url) == ("MISS", "Our spring member drive")
