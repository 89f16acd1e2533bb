"""The pixel's journal: a hit is in a file before its GIF goes out, and in the database a moment later.

Served over RSGI, the pixel appends each hit as one line to its process's journal file (one `write`, into
the operating system's page cache, the same place an SQLite commit at synchronous=NORMAL puts it) and
answers at once; a committer then writes the hits to `tracking_hit` in batches, off the request path,
together with how far into the journal the database now holds every hit (`JournalMark`, in the same
transaction). Waiting for a database commit before answering cost half the throughput: each reply had to
wait for its batch, and the server sat idle between batches.

If the process dies (SIGKILL, a crash, the machine's power stays on), the next process to start on this host
finds the journal file no live process holds (each keeps an exclusive `flock` on its own), inserts the lines
past the mark and deletes the file: every answered hit is stored exactly once. A journal is started afresh
once everything in it is in the database and it has grown past `ROTATE_BYTES`.

    answer():  hit_from_request() -> Journal.append() -> GIF
                                  -> committer.add()  -> (batch) INSERT hits + mark -> COMMIT
"""

import fcntl
import logging
import os
import secrets
import socket
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from django.db import transaction

from .models import JournalMark

logger = logging.getLogger(__name__)

SUFFIX = ".hits"
ROTATE_BYTES = 16 * 1024 * 1024


def encode(row):
    """One journal line. Fields are tab-separated; tabs and line ends cannot occur in them except in the
    copy's address, where they are written percent-encoded, as in any URL."""
    copy = row["copy"]
    if "\t" in copy or "\n" in copy or "\r" in copy:
        copy = copy.replace("\t", "%09").replace("\n", "%0A").replace("\r", "%0D")
    story_id = row["story_id"]
    return (f"{row['received_at']}\t{'' if story_id is None else story_id}\t{row['via']}\t{copy}\t"
            f"{row['visitor']}\t{row['filtered']}\n").encode("utf-8", "replace")


def decode(line):
    """The row of one complete journal line, or None if the line is not one (never written whole)."""
    try:
        received_at, story_id, via, copy, visitor, filtered = line.decode("utf-8").split("\t")
        return {"received_at": datetime.fromisoformat(received_at),
                "story_id": int(story_id) if story_id else None, "via": via, "copy": copy,
                "visitor": visitor, "filtered": filtered}
    except ValueError:
        return None


class Journal:
    """This process's journal: append-only files, each held with an exclusive lock while the process lives.

    Past `rotate_bytes` the next hit starts a new file; a file retired that way is deleted once the
    database holds all of it (`stored()`)."""

    def __init__(self, directory, rotate_bytes=ROTATE_BYTES):
        self.directory = Path(directory)
        self.rotate_bytes = rotate_bytes
        self.name = None
        self._fd = None
        self.written = 0  # bytes in the current file
        self._retired = {}  # name: (fd, size)
        self._stored = {}  # name: bytes whose hits the database holds

    def _start_file(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{_host_prefix()}{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC,
                     0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
        self._retire()
        self.name, self._fd, self.written = name, fd, 0

    def _retire(self):
        """Stop writing to the current file; it goes once the database holds its `written` bytes."""
        if self._fd is not None:
            self._retired[self.name] = (self._fd, self.written)
            self._fd = None

    def append(self, row):
        """Write one hit; returns (journal name, bytes written so far). Raises OSError if it could not."""
        if self._fd is None or self.written >= self.rotate_bytes:
            self._start_file()
        line = encode(row)
        written = os.write(self._fd, line)
        if written != len(line):
            # A full disk mid-line. Recovery stops at the last whole line, but a line appended after the torn
            # one would be glued to it and lost: the next hit starts a new file.
            self._retire()
            raise OSError(f"journal write cut short ({written} of {len(line)} bytes)")
        self.written += written
        return self.name, self.written

    def stored(self, marks):
        """The database now holds {name: bytes}: delete retired files it holds whole; returns their names."""
        self._stored.update(marks)
        deleted = []
        for name, (fd, size) in list(self._retired.items()):
            if self._stored.get(name, 0) >= size:
                os.unlink(self.directory / name)
                os.close(fd)
                del self._retired[name], self._stored[name]
                deleted.append(name)
        return deleted

    def close(self, all_stored=False):
        """Release the files; delete them too when the database holds every hit they have."""
        for name, (fd, _) in list(self._retired.items()):
            if all_stored:
                os.unlink(self.directory / name)
            os.close(fd)
        self._retired.clear()
        if self._fd is not None:
            if all_stored:
                os.unlink(self.directory / self.name)
            os.close(self._fd)
            self._fd = None


def write_marks(cursor, marks, forget, marker, quote):
    """Upsert {journal name: position} and delete the marks of the journals in `forget` (deleted files), on
    a DB-API cursor, in the caller's transaction."""
    upsert, table = _marks_sql(marker, quote)
    for name, position in marks.items():
        cursor.execute(upsert, (name, position))
    if forget:
        cursor.execute(f"DELETE FROM {table} WHERE journal IN ({', '.join([marker] * len(forget))})", list(forget))


@lru_cache(maxsize=4)
def _marks_sql(marker, quote):
    # Built once: on the event loop, every use of django.db.connection in a new request's context made a
    # new DatabaseWrapper.
    table = quote(JournalMark._meta.db_table)
    return (f"INSERT INTO {table} (journal, position) VALUES ({marker}, {marker}) "
            f"ON CONFLICT (journal) DO UPDATE SET position = excluded.position"), table


def recover(directory, write_hits):
    """Store the hits of journals whose processes are gone, each exactly once; returns how many.

    Run at start-up, before the process takes requests (with Django's connection, in a thread). A journal
    whose lock is held belongs to a live process and is left alone; two processes starting together never
    both take the same file."""
    directory = Path(directory)
    recovered = 0
    if directory.is_dir():
        for path in sorted(directory.glob(f"*{SUFFIX}")):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:  # another process recovered and deleted it meanwhile
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live process's journal
                if not os.path.exists(path):  # recovered and deleted between our open and our lock
                    continue
                recovered += _recover_file(path, fd, write_hits)
                os.unlink(path)
            finally:
                os.close(fd)
    # Marks of this host's journals that are gone (deleted after their last hit was stored). Other hosts'
    # journals (several app servers on one PostgreSQL database) are theirs to tidy.
    existing = {path.name for path in directory.glob(f"*{SUFFIX}")} if directory.is_dir() else set()
    JournalMark.objects.filter(journal__startswith=_host_prefix()).exclude(journal__in=existing).delete()
    return recovered


def _host_prefix():
    return f"{socket.gethostname()}-"


def _recover_file(path, fd, write_hits):
    mark = JournalMark.objects.filter(journal=path.name).values_list("position", flat=True).first() or 0
    with os.fdopen(os.dup(fd), "rb") as journal:
        journal.seek(mark)
        data = journal.read()
    end = data.rfind(b"\n") + 1  # a line without its end was never answered
    lines = data[:end].split(b"\n")[:-1]
    rows = [row for row in map(decode, lines) if row is not None]
    skipped = len(lines) - len(rows)
    if skipped:
        logger.error("Pixel journal %s: %d unreadable lines skipped", path.name, skipped)
    with transaction.atomic():
        if rows:
            write_hits(rows)
        JournalMark.objects.update_or_create(journal=path.name, defaults={"position": mark + end})
    if rows:
        logger.warning("Pixel journal %s: %d hits recovered", path.name, len(rows))
    return len(rows)
