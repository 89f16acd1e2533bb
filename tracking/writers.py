"""The SQL that stores pixel hits: every writer of `tracking_hit` is here.

- `write_hits(rows)`: through Django's connection, in the caller's transaction (the WSGI pixel's group
  commit, journal recovery, tests); multi-row INSERTs on SQLite, COPY on PostgreSQL.
- `write_batch(rows, marks, forget)` (PostgreSQL) and `SQLiteWriter` (SQLite, on the event loop): the RSGI
  pixel's committer, storing hits and the journal marks (`write_marks`) in one transaction.

Every writer stores a batch through `write_isolating`, so that a hit the database refuses cannot hold up the
others, and reads the counting job's cursor first (`keep_after_counted`), so that no hit lands where the
counting job has already counted.
"""

import logging
import sqlite3
import threading
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import psycopg
from django.db import DataError, IntegrityError, connection, transaction

from .filters import UNSTORABLE
from .models import Cursor, Hit, JournalMark

logger = logging.getLogger(__name__)

_ONE_SECOND = timedelta(seconds=1)
_NEVER = datetime.min.replace(tzinfo=UTC)
_last_second = [(_NEVER, _NEVER, "")]  # (start, end, text of its second): utc_text's memory of the previous call


def utc_text(value):
    """An aware UTC datetime as naive text, "2026-12-04 17:30:05.123456": what Django's SQLite backend stores
    for it. Same as str(value) without "+00:00", in a third of the time: the text up to the second is kept
    from the previous call (a pixel hit's budget is a few microseconds, and this is called once per hit)."""
    start, end, prefix = _last_second[0]  # one read and one write of a tuple: safe from several threads
    if not start <= value < end:
        start = value.replace(microsecond=0)
        prefix = str(start)[:19]
        _last_second[0] = (start, start + _ONE_SECOND, prefix)
    micro = value.microsecond
    return prefix + "." + str(1_000_000 + micro)[1:] if micro else prefix  # f"{micro:06d}" costs 60% more


# What a row's own values cause (a number out of range, a character the database refuses), unlike a database
# that is locked, gone or full: only these are worth narrowing down to the row. Writers use raw cursors, so
# the drivers' own classes as well as Django's.
DATA_ERRORS = (DataError, IntegrityError, sqlite3.DataError, sqlite3.IntegrityError, psycopg.DataError,
               psycopg.IntegrityError, ValueError, TypeError, OverflowError)


def write_isolating(write, rows, savepoint):
    """`write(rows)` within `savepoint()`, in the caller's transaction. Should the database refuse the batch
    for a row's values, the batch is halved until that row stands alone, and it is stored as a hit filtered
    as UNSTORABLE: counted, never lost, and no longer in the way of the hits after it, which would
    otherwise be retried together with it forever. Other errors are the caller's to retry."""
    try:
        with savepoint():
            write(rows)
        return
    except DATA_ERRORS as error:
        if _duplicate_key(error):  # hits have no unique column but their id: the table, not the row
            raise
        if len(rows) == 1:
            logger.error("The database refused a pixel hit (%r); stored as %r instead: %r", error, UNSTORABLE,
                         rows[0])
            write([unstorable(rows[0])])
            return
    middle = len(rows) // 2
    write_isolating(write, rows[:middle], savepoint)
    write_isolating(write, rows[middle:], savepoint)


def keep_after_counted(cursor, rows, quote, marker="%s", postgres=False):
    """Give the rows received before the counting job's cursor (`Cursor.counted_until`) that time instead,
    on a DB-API `cursor`, in the transaction that stores them. Counting never goes back, so such a hit would
    never be counted; it can only come from a writer that was held up longer than the job waits for
    (tracking.counting). On PostgreSQL the cursor's row is locked for share until the hits are committed:
    the job moves it on only once no transaction that read it is still storing hits."""
    table, name, until = quote(Cursor._meta.db_table), quote("name"), quote("counted_until")
    found = cursor.execute(f"SELECT {until} FROM {table} WHERE {name} = {marker}{' FOR SHARE' if postgres else ''}",
                           ("hits",)).fetchone()
    counted_until = found and found[0]
    if not counted_until:
        return
    if isinstance(counted_until, str):  # SQLite's text: UTC
        counted_until = datetime.fromisoformat(counted_until)
    if counted_until.tzinfo is None:
        counted_until = counted_until.replace(tzinfo=UTC)
    late = 0
    for row in rows:
        if row["received_at"] < counted_until:
            row["received_at"] = counted_until
            row.pop("received_text", None)
            late += 1
    if late:
        logger.warning("%d pixel hits arrived after the counting job had counted their time; counted as of %s",
                       late, counted_until)


def _duplicate_key(error):
    """Whether `error` (or the driver's error behind Django's) is a unique or primary key violation: a
    sequence behind the table's ids, say, after a restore."""
    cause = error.__cause__ if isinstance(error, IntegrityError) and error.__cause__ else error
    if isinstance(cause, psycopg.errors.UniqueViolation):
        return True
    return isinstance(cause, sqlite3.IntegrityError) and getattr(cause, "sqlite_errorname", "") in (
        "SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_ROWID")


def unstorable(row):
    """What can be kept of a hit the database refused: when it came, and that it was not a view."""
    kept = {**row, "story_id": None, "via": "", "copy": "", "visitor": "", "filtered": UNSTORABLE}
    received_at = row.get("received_at")
    if not isinstance(received_at, datetime) or received_at.tzinfo is None:
        kept["received_at"] = datetime.now(UTC)
        kept.pop("received_text", None)
    return kept


class Busy(Exception):
    """Another connection holds the database's write lock: try again in a moment."""


_COLUMNS = ("received_at", "story_id", "via", "copy", "visitor", "filtered")
ROWS_PER_INSERT = 100  # 600 parameters: within every SQLite build's limit (999 in old ones)
# On SQLiteWriter's own connection: SQLite 3.32 and later take 32,766 parameters.
SQLITE_ROWS_PER_INSERT = 1000 if sqlite3.sqlite_version_info >= (3, 32) else ROWS_PER_INSERT


def _hit_table(quote):
    """The hit table's name and its columns, quoted for the statements that insert rows."""
    return quote(Hit._meta.db_table), ", ".join(quote(column) for column in _COLUMNS)


@lru_cache(maxsize=64)
def _insert_sql(rows, table, columns):
    # Keyed by the quoted names, not by a connection's quote function: that would keep the connection open.
    values = f"({', '.join(['?'] * len(_COLUMNS))})"
    return f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([values] * rows)


def insert_hits(cursor, rows, stamp, quote, per_statement=ROWS_PER_INSERT):
    """Insert `rows` on an SQLite cursor with multi-row INSERTs of up to a hundred rows (or `per_statement`),
    in its open transaction.

    This is the pixel's hottest loop and it holds the GIL that requests need: the ORM's bulk_create cost
    ~15 us a row; executemany ~4 us, as SQLite's module lets go of the GIL and takes it back for every row;
    one statement per hundred rows ~1.5 us. Statements come in a few sizes only (powers of two, and the
    largest), which SQLite's module keeps prepared: a batch of any other size needed a statement of its own,
    parsed afresh, and cost 30-80% more a row."""
    table, columns = _hit_table(quote)
    start, count = 0, len(rows)
    while start < count:
        size = min(per_statement, 1 << ((count - start).bit_length() - 1))
        params = []
        for row in rows[start:start + size]:
            params += (stamp(row), row["story_id"], row["via"], row["copy"], row["visitor"], row["filtered"])
        cursor.execute(_insert_sql(size, table, columns), params)
        start += size


def copy_hits(cursor, rows, quote):
    """Insert `rows` with COPY on a psycopg cursor, in its open transaction. Multi-row INSERTs cost ~20 us a
    row on PostgreSQL: Django's psycopg cursors bind parameters on the client, and psycopg parses a
    statement of 600 placeholders afresh each time (too long for its cache). COPY: 4.5 us."""
    table, columns = _hit_table(quote)
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((row["received_at"], row["story_id"], row["via"], row["copy"], row["visitor"],
                            row["filtered"]))


def _stamp_for(connection):
    """How an SQLite `connection` stores a row's received_at (a DateTimeField), as Django would store it."""
    adapt = connection.ops.adapt_datetimefield_value
    if connection.timezone_name == "UTC":
        # What Django's SQLite backend stores for timezone.now(), for a tenth of its cost; a journaled row
        # holds it already (journal.encode).
        def stamp(row, utc=UTC):
            text = row.get("received_text")
            if text is None:
                value = row["received_at"]
                text = utc_text(value) if value.tzinfo is utc else adapt(value)
            return text
        return stamp
    return lambda row: adapt(row["received_at"])


def write_hits(rows):
    """Insert `rows` through Django's connection, in the caller's transaction."""
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    try:
        postgres = connection.vendor == "postgresql"
        keep_after_counted(cursor, rows, connection.ops.quote_name, "%s" if postgres else "?", postgres)
        if postgres:
            copy_hits(cursor, rows, connection.ops.quote_name)
        else:
            insert_hits(cursor, rows, _stamp_for(connection), connection.ops.quote_name)
    finally:
        cursor.close()


def write_batch(rows, marks, forget):
    """The committer's writer through Django's connection (PostgreSQL; run in the committer's thread):
    the hits and how far into each journal they reach, in one transaction."""
    try:
        with transaction.atomic():
            if rows:
                write_isolating(write_hits, rows, transaction.atomic)
            with connection.cursor() as cursor:
                write_marks(cursor, marks, forget, "%s", connection.ops.quote_name,
                            getattr(marks, "stored_until", None))
    except Exception:
        connection.close()  # a fresh connection for the next try
        raise


class SQLiteWriter:
    """The committer's writer for SQLite, called on the event loop, on a connection of its own (Django's
    connections must not be used from a running loop): autocommit (it says BEGIN and COMMIT itself), never
    waiting for a lock (`Busy` instead: the committer tries again later rather than block the loop), and
    without automatic checkpoints, which fsync inside the commit that triggers them; its Checkpointer
    thread does them."""

    def __init__(self, checkpoint_every=1.0, database=None):
        # `database`: another SQLite database's settings (tests), in the default one's time zone, whose
        # connection decides how times are written.
        self.checkpoint_every = checkpoint_every
        self.database = database or connection.settings_dict
        self._connection = self._checkpointer = None
        self._stamp, self._quote = _stamp_for(connection), connection.ops.quote_name

    def connect(self):
        database = self.database
        writer = sqlite3.connect(database["NAME"], isolation_level=None, check_same_thread=False, uri=True)
        for command in database.get("OPTIONS", {}).get("init_command", "").split(";"):
            if command.strip():
                writer.execute(command)
        writer.execute("PRAGMA busy_timeout = 0")
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        return writer

    def __call__(self, rows, marks, forget):
        if self._connection is None:
            self._connection = self.connect()
            if self._checkpointer is None and self.checkpoint_every:
                self._checkpointer = Checkpointer(self.connect, self.checkpoint_every)
        writer = self._connection
        try:
            writer.execute("BEGIN IMMEDIATE")
            if rows:
                write_isolating(self._insert, rows, self._savepoint)
            stored_until = getattr(marks, "stored_until", None)
            write_marks(writer, marks, forget, "?", self._quote, stored_until and utc_text(stored_until))
            writer.execute("COMMIT")
        except BaseException as error:
            if writer.in_transaction:
                writer.rollback()
            if isinstance(error, sqlite3.OperationalError) and error.sqlite_errorcode in (
                    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                raise Busy from error
            self.close()  # anything else: a fresh connection for the next try
            raise

    def _insert(self, rows):
        keep_after_counted(self._connection, rows, self._quote, "?")
        insert_hits(self._connection, rows, self._stamp, self._quote, SQLITE_ROWS_PER_INSERT)

    @contextmanager
    def _savepoint(self):
        writer = self._connection
        writer.execute("SAVEPOINT hits")
        try:
            yield
        except BaseException:
            # SQLite may have rolled the whole transaction back itself (disk full, I/O error): then there is
            # no savepoint left, and the original error is the one to report.
            if writer.in_transaction:
                with suppress(sqlite3.Error):
                    writer.execute("ROLLBACK TO hits")
                    writer.execute("RELEASE hits")
            raise
        writer.execute("RELEASE hits")

    def close(self):
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def write_marks(cursor, marks, forget, marker, quote, stored_until=None):
    """Upsert {journal name: position} (and the time until which the process stored every hit, when given;
    in the database's form) and delete the marks of the journals in `forget` (deleted files), on a DB-API
    cursor, in the caller's transaction."""
    table = quote(JournalMark._meta.db_table)
    upsert = _marks_sql(marker, table)
    for name, position in marks.items():
        cursor.execute(upsert, (name, position, stored_until))
    if forget:
        cursor.execute(f"DELETE FROM {table} WHERE journal IN ({', '.join([marker] * len(forget))})", list(forget))


@lru_cache(maxsize=4)
def _marks_sql(marker, table):
    # Keyed by the quoted name, not by a connection's quote function: that would keep the connection open.
    return (f"INSERT INTO {table} (journal, position, stored_until) VALUES ({marker}, {marker}, {marker}) "
            f"ON CONFLICT (journal) DO UPDATE SET position = excluded.position, "
            f"stored_until = COALESCE(excluded.stored_until, {table}.stored_until)")


class Checkpointer:
    """Copies the WAL back into the database every `every` seconds, in a thread of its own.

    SQLite normally checkpoints inside the commit that fills the WAL past 1,000 pages, fsync included: on
    the event loop that stalled every request for several milliseconds. A passive checkpoint never waits
    for writers or readers, and sqlite3 lets go of the GIL while it copies."""

    def __init__(self, connect, every):
        self._stopping = threading.Event()
        self._connect = connect
        self._every = every
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping.set()
        self._thread.join(5)

    def _run(self):
        connection = None
        try:
            while not self._stopping.wait(self._every):
                try:
                    if connection is None:
                        connection = self._connect()
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except Exception:
                    logger.exception("WAL checkpoint failed")
                    if connection is not None:
                        connection.close()
                        connection = None
        finally:
            if connection is not None:
                connection.close()
