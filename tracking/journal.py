"""The pixel's journal: a hit is in a file before its GIF goes out, and in the database a moment later.

Served over RSGI, the pixel copies each hit as one line into its process's journal file, mapped into memory
(`mmap`), and answers at once; a committer then writes the hits to `tracking_hit` in batches, off the
request path, together with how far into the journal the database now holds every hit (`JournalMark`, in
the same transaction). Waiting for a database commit before answering cost half the throughput: each reply
had to wait for its batch, and the server sat idle between batches.

A line copied into a shared mapping is in the operating system's page cache at once, the place an SQLite
commit at synchronous=NORMAL puts its data: a killed process loses nothing, a power cut can lose the last
moments. A `write` per hit would do the same, but as a system call, during which the event loop lets go of
the GIL and granian's threads, waiting to hand it new requests, take it; a copy into the mapping is a copy
in memory. Each file's blocks are reserved when it starts (`posix_fallocate`), so a full disk refuses a new
file, never a line halfway.

If the process dies (SIGKILL, a crash, the machine's power stays on), the next process to start on this host
finds the journal file no live process holds (each keeps an exclusive `flock` on its own), inserts the lines
past the mark and deletes the file: every answered hit is stored exactly once. The part of a file not yet
written holds zero bytes, which no line contains. A journal is started afresh once its file is full, and a
full file is deleted once everything in it is in the database.

    Pixel.answer() -> hit_from_request() -> JournaledRecorder.record() -> Journal.append() -> GIF
                                                                      -> committer.add()  -> (batch) INSERT
                                                                                             hits + mark, COMMIT
"""

import fcntl
import logging
import mmap
import os
import secrets
import socket
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from .models import JournalMark
from .writers import utc_text, write_isolating

logger = logging.getLogger(__name__)

SUFFIX = ".hits"
MAKING = ".new"  # appended to a journal's name while its file is being made
FILE_BYTES = 16 * 1024 * 1024


def encode(row):
    """One journal line. Fields are tab-separated; tabs, line ends and zero bytes cannot occur in them except
    in the copy's address, where they are written percent-encoded, as in any URL.

    A UTC time's text is kept in the row too ("received_text"): the same text SQLite stores, not formatted
    twice."""
    copy = row["copy"]
    if "\t" in copy or "\n" in copy or "\r" in copy or "\0" in copy:
        copy = copy.replace("\t", "%09").replace("\n", "%0A").replace("\r", "%0D").replace("\0", "%00")
    story_id, received_at = row["story_id"], row["received_at"]
    if received_at.tzinfo is UTC:
        when = row["received_text"] = utc_text(received_at)
    else:
        when = str(received_at)
    return (f"{when}\t{'' if story_id is None else story_id}\t{row['via']}\t{copy}\t"
            f"{row['visitor']}\t{row['filtered']}\n").encode("utf-8", "replace")


def decode(line):
    """The row of one complete journal line, or None if the line is not one (never written whole)."""
    try:
        when, story_id, via, copy, visitor, filtered = line.decode("utf-8").split("\t")
        received_at = datetime.fromisoformat(when)
        row = {"received_at": received_at, "story_id": int(story_id) if story_id else None, "via": via,
               "copy": copy, "visitor": visitor, "filtered": filtered}
        if not received_at.tzinfo:  # UTC, as encode writes it
            row["received_at"] = received_at = received_at.replace(tzinfo=UTC)
            row["received_text"] = utc_text(received_at)
        return row
    except (ValueError, OverflowError):  # OverflowError: a time at the very end of year 9999
        return None


def _reserve(fd, size):
    """Allocate the file's blocks now: a page of the mapping that the disk could not hold would kill the
    process (SIGBUS) when written. A full disk raises OSError here instead."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, size)
    else:  # macOS has no posix_fallocate: zeros written reserve the blocks too
        zeros = bytes(1 << 20)
        for offset in range(0, size, len(zeros)):
            os.pwrite(fd, zeros[:size - offset], offset)


class Journal:
    """This process's journal: files of `file_bytes` each, mapped into memory, written from the start, each
    held with an exclusive lock while the process lives.

    A hit that does not fit in the rest of the file starts a new one; a file retired that way is deleted once
    the database holds all of it (`stored()`)."""

    def __init__(self, directory, file_bytes=FILE_BYTES):
        self.directory = Path(directory)
        self.file_bytes = file_bytes
        self.name = None
        self._fd = self._map = None
        self._size = 0
        self.written = 0  # bytes in the current file
        self._retired = {}  # name: (fd, bytes written)
        self._stored = {}  # name: bytes whose hits the database holds

    def start(self):
        """Make the first file now, rather than on the first hit, so that its mark can be in the database
        before any hit is taken (tracking.counting waits for the hits of a journal whose process died)."""
        if self._fd is None:
            self._start_file(0)

    def _start_file(self, at_least):
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{_host_prefix()}{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        # Made under a name recovery does not look at, and given its journal's name once locked: a worker
        # starting up must never take a live process's new file for a dead one's.
        making = self.directory / (name + MAKING)
        size = max(self.file_bytes, at_least)
        fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
            _reserve(fd, size)
            mapping = mmap.mmap(fd, size)
            os.rename(making, self.directory / name)
        except BaseException:
            os.close(fd)
            making.unlink(missing_ok=True)
            raise
        self._retire()
        self.name, self._fd, self._map, self._size, self.written = name, fd, mapping, size, 0

    def _retire(self):
        """Stop writing to the current file; it goes once the database holds its `written` bytes."""
        if self._fd is not None:
            self._map.close()  # its pages stay in the page cache, on their way to the file
            self._retired[self.name] = (self._fd, self.written)
            self._fd = self._map = None

    def append(self, row):
        """Write one hit; returns (journal name, bytes written so far). Raises OSError if it could not."""
        line = encode(row)
        end = self.written + len(line)
        if end > self._size:  # also when no file is open (size 0)
            self._start_file(len(line))
            end = len(line)
        self._map[self.written:end] = line
        self.written = end
        return self.name, end

    def stored(self, marks):
        """The database now holds {name: bytes}: delete retired files it holds whole; returns their names."""
        self._stored.update(marks)
        deleted = []
        for name, (fd, size) in list(self._retired.items()):
            if self._stored.get(name, 0) >= size:
                os.unlink(self.directory / name)
                os.close(fd)
                del self._retired[name]
                self._stored.pop(name, None)
                deleted.append(name)
        return deleted

    def close(self, all_stored=False):
        """Release the files; delete them too when the database holds every hit they have."""
        self._retire()
        for name, (fd, _) in self._retired.items():
            if all_stored:
                os.unlink(self.directory / name)
            os.close(fd)
        self._retired.clear()
        self._size = 0


def recover(directory, write_hits):
    """Store the hits of journals whose processes are gone, each exactly once; returns how many.

    Run at start-up, before the process takes requests (with Django's connection, in a thread). A journal
    whose lock is held belongs to a live process and is left alone; two processes starting together never
    both take the same file."""
    directory = Path(directory)
    recovered = 0
    if directory.is_dir():
        for path in sorted(directory.glob(f"*{SUFFIX}")):
            with _left_behind(path) as fd:
                if fd is not None:
                    recovered += _recover_file(path, fd, write_hits)
                    path.unlink(missing_ok=True)
        for path in directory.glob(f"*{SUFFIX}{MAKING}"):  # a process died making it: no hit in it yet
            with _left_behind(path) as fd:
                if fd is not None:
                    path.unlink(missing_ok=True)
    # Marks of this host's journals that are gone (deleted after their last hit was stored). Other hosts'
    # journals (several app servers on one PostgreSQL database) are theirs to tidy.
    existing = {path.name for path in directory.glob(f"*{SUFFIX}")} if directory.is_dir() else set()
    JournalMark.objects.filter(journal__startswith=_host_prefix()).exclude(journal__in=existing).delete()
    return recovered


@contextmanager
def _left_behind(path):
    """The file at `path` opened and locked if no live process holds it (its owner is gone), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:  # another process recovered and deleted it meanwhile
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live process's
            yield None
            return
        # Recovered and deleted by another process between our open and our lock?
        yield fd if os.path.exists(path) else None
    finally:
        os.close(fd)


def _host_prefix():
    return f"{settings.PIXEL_HOST_NAME or socket.gethostname()}-"


def _recover_file(path, fd, write_hits):
    mark = JournalMark.objects.filter(journal=path.name).values_list("position", flat=True).first() or 0
    with os.fdopen(os.dup(fd), "rb") as journal:
        journal.seek(mark)
        data = journal.read()
    unwritten = data.find(b"\0")
    if unwritten >= 0:
        data = data[:unwritten]
    end = data.rfind(b"\n") + 1  # a line without its end was never answered
    lines = data[:end].split(b"\n")[:-1]
    rows = [row for row in map(decode, lines) if row is not None]
    skipped = len(lines) - len(rows)
    if skipped:
        logger.error("Pixel journal %s: %d unreadable lines skipped", path.name, skipped)
    with transaction.atomic():
        if rows:
            write_isolating(write_hits, rows, transaction.atomic)
        JournalMark.objects.update_or_create(journal=path.name, defaults={"position": mark + end})
    if rows:
        logger.warning("Pixel journal %s: %d hits recovered", path.name, len(rows))
    return len(rows)
