"""Pixel hits that nginx answered itself: its pixel log read into `tracking_hit`.

In the shape `deploy/nginx/pixel-log.conf` sets up, nginx answers every /pixel/ request with its built-in
43-byte GIF and appends one JSON line per request to a file per 100 seconds (`<dir>/<epoch // 100>.log`,
`log_format byline_pixel` in byline.conf). `manage.py ingest_pixel_log` (the byline-pixel-log service) reads
those lines in order, turns each into the environ `hit_from_request` reads, so that every filter and cap
applies as in the pixel server, and stores the rows together with how far into each file the database holds them
(`JournalMark`, in the same transaction, as the pixel server's journal does): a killed or restarted reader
goes on from there, and stores each line once. A file is deleted once everything in it is stored and its
100 seconds are over, so readers' addresses stay on the host's disk for two minutes at most while the reader
keeps up.

Why: answering from nginx costs nginx a static answer and one write, and the Python work is done in
batches behind it (docs/performance.md, "Tenth session"). What it gives up: nginx logs a hit after
answering it, so a disk full or an nginx worker killed between the two loses that hit, which the pixel server
(journal first, answer after) never does.

    nginx: GIF answered, line appended -> NginxPixelLog.ingest() -> hit_from_request() -> write_batch():
                                                                  hits + marks, one transaction
"""

import json
import logging
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from django.conf import settings

from .hits import hit_from_request, unreadable
from .models import JournalMark
from .recorder import Marks
from .writers import write_batch

logger = logging.getLogger(__name__)

SUFFIX = ".log"
# Each file takes the lines of 100 seconds, named by their start in hundreds of seconds since the epoch
# (byline.conf's map on $msec): UTC whatever the host's time zone, in time order by name.
WINDOW = 100
# The keys of a line (log_format byline_pixel in deploy/nginx/byline.conf) and the environ keys they fill.
FIELDS = {
    "m": "REQUEST_METHOD",
    "a": "REMOTE_ADDR",
    "ua": "HTTP_USER_AGENT",
    "ref": "HTTP_REFERER",
    "xff": "HTTP_X_FORWARDED_FOR",
    "sp": "HTTP_SEC_PURPOSE",
    "p": "HTTP_PURPOSE",
    "xp": "HTTP_X_PURPOSE",
    "xm": "HTTP_X_MOZ",
}
TIME, URI = "t", "u"  # nginx's $msec (seconds since the epoch, to the millisecond) and $request_uri
# nginx takes a line's time and then writes it; its workers' lines may land in a file out of that order by as
# much as a worker can be held up in between. A line older than this is in its file once the file is read.
WRITE_LAG = 1.0
MAX_LINE = 64 * 1024  # nginx refuses request lines and headers over 8 KB each (large_client_header_buffers)
MAX_BATCH_BYTES = 8 * 1024 * 1024  # hostile lines near MAX_LINE: a batch's memory stays bounded


def environ_of(line):
    """The request of one log line as `hit_from_request` reads it, and when nginx answered it."""
    record = json.loads(line.decode("utf-8", "replace"))
    received_at = datetime.fromtimestamp(float(record[TIME]), UTC)
    # nginx writes every field as a string (a line it did not write may fail in hit_from_request instead)
    environ = {name: value for key, name in FIELDS.items() if (value := record.get(key))}
    path, _, environ["QUERY_STRING"] = record.get(URI, "").partition("?")
    environ["PATH_INFO"] = unquote(path, errors="replace") if "%" in path else path
    return environ, received_at


def row_of(line):
    """The Hit row of one log line (None for a request the pixel does not store: HEAD), and nginx's time of it
    (None when the line cannot be read). A line that cannot be read is stored as a malformed hit, as the pixel
    server stores a request it cannot read."""
    try:
        environ, received_at = environ_of(line)
    except (ValueError, TypeError, KeyError, OverflowError, AttributeError):
        # Its length only: the line may hold a reader's address, which the site's logs never keep.
        logger.warning("Unreadable line of %d bytes in the nginx pixel log; stored as malformed", len(line))
        return unreadable(), None
    if environ.get("REQUEST_METHOD", "GET") != "GET":
        return None, received_at
    try:
        return hit_from_request(environ, received_at, replayed=True), received_at
    except Exception:
        logger.exception("Pixel log line could not be read")
        return unreadable(received_at), received_at


def host_name():
    """This host's name on its marks, as on its pixel journals': several hosts share one database."""
    return settings.PIXEL_HOST_NAME or socket.gethostname()


def stored_lag(host=None, now=None):
    """Seconds since this host's log reader last said every line nginx had written was stored (the freshest
    of its marks); None if it never did."""
    prefix = f"nginx:{host_name() if host is None else host}:"
    newest = (JournalMark.objects.filter(journal__startswith=prefix).order_by("-stored_until")
              .values_list("stored_until", flat=True).first())
    return None if newest is None else ((now or datetime.now(UTC)) - newest).total_seconds()


class NginxPixelLog:
    """Reads the minute files of one host's nginx pixel log into the database.

    `ingest()` stores every complete line not yet stored, in batches of up to `batch_lines`, each with the
    marks of every file still on disk (their positions and the time before which every line nginx wrote is
    stored), then deletes the files nginx has left behind for `keep_seconds` once they are stored. `run()`
    does that until told to stop, and commits the marks alone when there is nothing new (a heartbeat: the
    counting job waits for this host's lines while it is fresh, tracking.counting)."""

    def __init__(self, directory=None, host=None, batch_lines=5000, keep_seconds=10.0, heartbeat=1.0,
                 write=write_batch):
        self.directory = Path(directory or settings.PIXEL_LOG_DIR)
        host = host_name() if host is None else host
        self.prefix = f"nginx:{host}:"  # JournalMark.journal of each file: the host, then the file's name
        self.batch_lines, self.keep_seconds, self.heartbeat, self.write = batch_lines, keep_seconds, heartbeat, write
        self._committed_at = float("-inf")  # time.monotonic() of the last commit
        self.positions = None  # mark name: bytes stored
        self._forget = []

    def load_positions(self):
        self.positions = dict(JournalMark.objects.filter(journal__startswith=self.prefix)
                              .values_list("journal", "position"))

    def files(self):
        return sorted(self.directory.glob("*" + SUFFIX))

    def ingest(self):
        """Store what nginx has written since the last call; the number of lines read."""
        if self.positions is None:
            self.load_positions()
        started = time.time()  # nginx's clock: a line older than this (less WRITE_LAG) is in a file below
        files = self.files()
        names = {self.prefix + path.name for path in files} | {self.prefix}
        self._forget += [name for name in self.positions if name not in names]  # deleted before a crash
        for name in self._forget:
            self.positions.pop(name, None)
        read, batch = 0, None  # batch: the last one read, committed once it is known whether more follows
        for path in files:
            name = self.prefix + path.name
            position = self.positions.setdefault(name, 0)
            with path.open("rb") as file:
                size = os.fstat(file.fileno()).st_size
                if size < position:  # not what nginx does; re-reading would store lines twice
                    logger.error("%s is shorter than the %d bytes already stored from it; left as it is", path,
                                 position)
                    continue
                file.seek(position)
                while True:
                    lines, used = self._read(file)
                    if not used:
                        break
                    if batch is not None:  # more lines follow it: stored as far as its newest line
                        self._commit(*batch)
                    rows, newest = self._rows(lines)
                    position += used
                    self.positions[name] = position
                    # Lines after these may be older by WRITE_LAG; a batch without a time says nothing new.
                    until = None if newest is None else min(newest.timestamp(), started) - WRITE_LAG
                    batch = (rows, dict(self.positions), until)
                    read += len(lines)
                end = os.fstat(file.fileno())
                if position < end.st_size and self._left(path, end, started):
                    # Left by nginx with a line it never finished (a full disk, a worker killed mid-write): one
                    # malformed hit, so that the file is stored to its end and deleted.
                    if batch is not None:
                        self._commit(*batch)
                    position = self.positions[name] = end.st_size
                    batch = ([unreadable()], dict(self.positions), None)
                    read += 1
        # Every file read to its end: every line written before `started` is stored. With nothing new, a
        # heartbeat once a second (or the marks of deleted files to forget). The host's own mark always: it
        # must stay fresh, or alone it would hold counting back once files come.
        if batch is not None or self._forget or time.monotonic() - self._committed_at >= self.heartbeat:
            self._commit(batch[0] if batch else [], {self.prefix: 0, **self.positions}, started - WRITE_LAG)
        self._delete_stored(files, started)
        return read

    def _rows(self, lines):
        """The rows of `lines`, and the newest time nginx gave one of them (None if none had one)."""
        rows, newest = [], None
        for line in lines:
            row, when = row_of(line)
            if when is not None:
                newest = when if newest is None else max(newest, when)
            if row is None:
                continue
            if when is None and newest is not None:  # as of the line before it, which nginx wrote just before
                row["received_at"] = newest
            rows.append(row)
        return rows, newest

    def _read(self, file):
        """Up to `batch_lines` complete lines from the file's position, and the bytes they take. A line longer
        than nginx ever writes is read as an empty one (stored as a malformed hit)."""
        lines, used = [], 0
        while len(lines) < self.batch_lines and used < MAX_BATCH_BYTES:
            start = file.tell()
            line = file.readline(MAX_LINE)
            if len(line) == MAX_LINE and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):
                    line = file.readline(MAX_LINE)
                if not line:  # its end is not written yet
                    file.seek(start)
                    break
                line = b""
            elif not line.endswith(b"\n"):  # half written, or nothing yet: read again next time
                file.seek(start)
                break
            lines.append(line)
            used += file.tell() - start
        return lines, used

    def _commit(self, rows, positions, stored_until):
        """`stored_until`: seconds since the epoch, or None to keep what the marks said."""
        marks = Marks(None if stored_until is None else datetime.fromtimestamp(stored_until, UTC), positions)
        # A name deleted and made again (a clock stepped back) is a new file: its mark stays.
        forget, self._forget = [name for name in self._forget if name not in positions], []
        delay = 0.05
        while True:
            try:
                self.write(rows, marks, forget)
                self._committed_at = time.monotonic()
                return
            except Exception:
                # Nothing of the batch is stored: the same lines again, from the same positions.
                logger.exception("Could not store %d pixel hits from the nginx log; trying again", len(rows))
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _left(self, path, stat, now):
        """Whether nginx writes no more to the file: its 100 seconds (its name, byline.conf's map) ended
        `keep_seconds` ago. nginx keeps the file open (open_log_file_cache) and would write into a deleted
        one: a file is never deleted, nor its end read as torn, before its time is over."""
        if path.stem.isdigit():
            return now > (int(path.stem) + 1) * WINDOW + self.keep_seconds
        return now - stat.st_mtime > max(self.keep_seconds, 2 * WINDOW)  # not a name nginx gives

    def _delete_stored(self, files, now):
        """Delete the files whose every line is stored and which nginx has left (a quiet site's last one too)."""
        for path in files:
            name = self.prefix + path.name
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if self.positions.get(name) == stat.st_size and self._left(path, stat, now):
                path.unlink()
                self.positions.pop(name, None)
                self._forget.append(name)

    def run(self, stop, idle=0.2):
        """Ingest until `stop` (a threading.Event) is set; a pause of `idle` seconds when nothing was new."""
        while not stop.is_set():
            if not self.ingest():
                stop.wait(idle)
