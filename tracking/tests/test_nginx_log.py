"""The pixel answered by nginx (deploy/nginx/pixel-log.conf): every line of its pixel log is stored once, read
as the pixel server reads a request, whatever stops the reader (tracking.nginx_log).

The shipped nginx writing the log for real, and the reader killed mid-load, is byline/tests/test_deploy.py's
test_nginx_answers_the_pixel_and_every_logged_hit_is_stored_once."""

import json
import os
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from republish.pixel import pixel_path
from stories.factories import StoryPageFactory
from tracking import filters
from tracking.models import Hit, JournalMark
from tracking.nginx_log import FIELDS, TIME, URI, WINDOW, WRITE_LAG, NginxPixelLog
from tracking.writers import write_batch

from .helpers import BROWSER

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_caps")]
SHIPPED = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "nginx", "byline.conf")


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news)


def line(story, n, when=None, method="GET", user_agent=None, path=None, **fields):
    """One line as nginx writes it with byline.conf's log_format: escape=json, every field a string but $msec."""
    page = quote(f"https://partner.example/p/{n}", safe="")
    record = {"t": f"{(when or datetime.now(UTC)).timestamp():.3f}", "m": method,
              "u": f"{path or pixel_path(story.pk, 'script')}?url={page}", "a": "203.0.113.9",
              "ua": user_agent or BROWSER.replace("537.36", f"537.{n}"), "ref": "", "xff": "", "sp": "", "p": "",
              "xp": "", "xm": "", **fields}
    text = json.dumps(record, separators=(",", ":")).replace(f'"{record["t"]}"', record["t"])
    return (text + "\n").encode()


def window(back=0):
    """The name nginx gives the file of the current 100 seconds (byline.conf's map), or of `back` before."""
    return f"{int(time.time()) // WINDOW - back}.log"


def append(path, *lines):
    with path.open("ab") as file:
        for data in lines:
            file.write(data)


def stored_pages():
    return sorted(int(copy.rsplit("/", 1)[1]) for copy in Hit.objects.values_list("copy", flat=True))


def test_the_shipped_log_format_writes_every_field_the_reader_reads():
    conf = open(SHIPPED).read()
    log_format = re.search(r"log_format byline_pixel escape=json ((?:'[^']*'\s*)+);", conf).group(1)
    keys = re.findall(r'"(\w+)":', "".join(re.findall(r"'([^']*)'", log_format)))
    assert sorted(keys) == sorted([TIME, URI, *FIELDS])
    assert '"t":$msec' in log_format and '"u":"$request_uri"' in log_format


def test_each_line_is_stored_once_as_the_pixel_server_would_store_its_request(story, tmp_path):
    log = tmp_path / window()
    when = datetime(2026, 12, 7, 9, 0, 1, 250000, tzinfo=UTC)
    append(log, line(story, 1, when), line(story, 2, when), line(story, 3, when, method="HEAD"),
           line(story, 4, when, user_agent="Googlebot/2.1 (+http://www.google.com/bot.html)"),
           line(story, 5, when, path=f"/pixel/{story.pk}/script/0000000000000000.gif"),
           line(story, 6, when, sp="prefetch"))
    reader = NginxPixelLog(tmp_path, host="a")
    assert reader.ingest() == 6
    assert reader.ingest() == 0  # nothing new: nothing stored twice
    hits = {int(hit.copy.rsplit("/", 1)[1]) if hit.copy else hit.filtered: hit for hit in Hit.objects.all()}
    assert sorted(hits, key=str) == sorted([1, 2, 4, 6, filters.FORGED], key=str), "HEAD is not a view"
    assert hits[1].received_at == when and hits[1].filtered == "" and hits[1].story_id == story.pk
    assert hits[4].filtered == filters.BOT and hits[6].filtered == filters.PREFETCH
    assert JournalMark.objects.get(journal=f"nginx:a:{log.name}").position == log.stat().st_size


def test_a_new_reader_goes_on_where_the_database_says_and_waits_for_half_written_lines(story, tmp_path):
    log = tmp_path / window()
    append(log, *(line(story, n) for n in range(10)))
    half = line(story, 10)
    append(log, half[:25])
    assert NginxPixelLog(tmp_path, host="a", batch_lines=3).ingest() == 10
    append(log, half[25:], line(story, 11))
    restarted = NginxPixelLog(tmp_path, host="a")  # as after a crash: positions from the database
    assert restarted.ingest() == 2
    assert stored_pages() == list(range(12))


def test_a_batch_the_database_refuses_is_stored_once_when_it_answers_again(story, tmp_path, monkeypatch):
    append(tmp_path / window(), *(line(story, n) for n in range(5)))
    failures = []

    def flaky(rows, marks, forget):
        if not failures:
            failures.append(len(rows))
            raise ConnectionError("database gone")
        write_batch(rows, marks, forget)

    monkeypatch.setattr("tracking.nginx_log.time.sleep", lambda seconds: None)
    assert NginxPixelLog(tmp_path, host="a", write=flaky).ingest() == 5
    assert failures == [5] and stored_pages() == list(range(5))


def test_unreadable_and_overlong_lines_are_stored_as_malformed_hits_and_the_rest_goes_on(story, tmp_path):
    append(tmp_path / window(), b"not json at all\n", b'{"t": "soon"}\n', b"x" * 200_000 + b"\n",
           line(story, 1), b"\xff\xfe\x00garbage\n", line(story, 2))
    assert NginxPixelLog(tmp_path, host="a").ingest() == 6
    assert list(Hit.objects.order_by("filtered").values_list("filtered", flat=True)) == (
        ["", ""] + [filters.MALFORMED] * 4)


def test_files_are_read_in_order_and_deleted_once_stored_and_their_time_is_over(story, tmp_path):
    older, old, current = tmp_path / window(3), tmp_path / window(2), tmp_path / window()
    append(older, line(story, 1), line(story, 2))
    append(old, line(story, 3))
    append(current, line(story, 4))
    reader = NginxPixelLog(tmp_path, host="a")
    assert reader.ingest() == 4
    assert [path.name for path in sorted(tmp_path.iterdir())] == [current.name], (
        "files whose 100 seconds are over go once stored; nginx may still write to the current one")
    reader.ingest()  # a heartbeat a second later forgets the deleted files' marks
    time.sleep(reader.heartbeat)
    reader.ingest()
    assert set(JournalMark.objects.values_list("journal", flat=True)) == {"nginx:a:", f"nginx:a:{current.name}"}
    assert stored_pages() == [1, 2, 3, 4]


def test_a_line_nginx_never_finished_is_stored_as_malformed_once_its_file_is_over(story, tmp_path):
    over, current = tmp_path / window(3), tmp_path / window()
    append(over, line(story, 1), line(story, 2)[:30])  # a full disk, or a worker killed mid-write
    append(current, line(story, 3)[:30])  # may yet be finished: waits
    assert NginxPixelLog(tmp_path, host="a").ingest() == 2
    assert sorted(Hit.objects.values_list("filtered", flat=True)) == ["", filters.MALFORMED]
    assert not over.exists() and current.exists()


def test_head_requests_alone_never_move_the_time_counting_may_reach(story, tmp_path):
    long_ago = (datetime.now(UTC) - timedelta(minutes=10)).replace(microsecond=0)
    append(tmp_path / window(), *(line(story, n, long_ago, method="HEAD") for n in range(4)))
    marks = []
    NginxPixelLog(tmp_path, host="a", batch_lines=2,
                  write=lambda rows, mark, forget: marks.append(mark.stored_until)).ingest()
    assert marks[0] == long_ago - timedelta(seconds=WRITE_LAG), "a batch of HEAD lines is as old as they are"
    assert len(marks) == 2 and marks[1] > long_ago + timedelta(minutes=9), "the second at the file's end"


def test_the_hosts_own_mark_stays_fresh_once_files_come(story, tmp_path):
    reader = NginxPixelLog(tmp_path, host="a", heartbeat=0)
    reader.ingest()  # no file yet
    first = JournalMark.objects.get(journal="nginx:a:").stored_until
    append(tmp_path / window(), line(story, 1))
    time.sleep(0.01)
    reader.ingest()
    assert JournalMark.objects.get(journal="nginx:a:").stored_until > first


def test_its_marks_tell_the_counting_job_until_when_every_logged_hit_is_stored(story, tmp_path):
    log = tmp_path / window()
    reader = NginxPixelLog(tmp_path, host="a")
    before = datetime.now(UTC)
    reader.ingest()  # no file yet: a heartbeat of the host
    mark = JournalMark.objects.get(journal="nginx:a:")
    assert before - timedelta(seconds=WRITE_LAG + 0.1) <= mark.stored_until <= datetime.now(UTC)

    # A backlog: stored in batches, each saying how far it got.
    old = (datetime.now(UTC) - timedelta(minutes=5)).replace(microsecond=0)
    append(log, *(line(story, n, old + timedelta(seconds=n)) for n in range(4)))
    NginxPixelLog(tmp_path, host="b", batch_lines=2).ingest()
    # After its last batch the host has read every file to its end: as of when it started reading.
    assert JournalMark.objects.get(journal=f"nginx:b:{log.name}").stored_until >= before - timedelta(
        seconds=WRITE_LAG + 0.1)
    partial = []
    NginxPixelLog(tmp_path, host="c", batch_lines=2,
                  write=lambda rows, marks, forget: partial.append(marks.stored_until)).ingest()
    assert partial[0] == old + timedelta(seconds=1) - timedelta(seconds=WRITE_LAG), (
        "mid-file, no later than the newest line stored, less the time nginx may take to write a line")
