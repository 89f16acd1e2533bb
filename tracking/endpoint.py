"""The pixel: a request to /pixel/<story>/<via>/<signature>.gif, answered before Django is involved.

PixelEndpoint is the site's outermost application (`byline.wsgi.application`) and speaks two interfaces:

- RSGI (`granian --interface rsgi byline.wsgi:application`), the fast one, on granian's event loop:

      PixelEndpoint  ->  hit_from_request()  ->  Journal.append()  ->  GIF
                          (filters, copy,         (a line copied into    JournalCommitter  ->  Hit rows
                           visitor key)            this process's        (every 10 ms, with the journal's
                                                   mapped journal)        mark; tracking.journal)

  Everything else goes to the WSGI site in a pool of threads (`DJANGO_THREADS`).
- WSGI (gunicorn gthread, granian --interface wsgi): each pixel request waits in its server thread until its
  batch is committed (writer_thread, a GroupCommitRecorder).

The counting job (`tracking.counting`) later turns Hit rows into the hourly rollups editors read.
Every input gets the same 43-byte GIF with `no-store`; only a failure to store the hit answers 503, so that
nothing is acknowledged that could be lost.
"""

import asyncio
import io
import logging
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import lru_cache
from hmac import compare_digest
from urllib.parse import parse_qs, unquote_plus

from django.conf import settings
from django.db import connection, transaction

from republish.pixel import parse_pixel_path, sign

from . import filters
from .copies import host_of, identify, is_partner_preview
from .journal import Journal, recover, utc_text, write_marks
from .models import Copy, Hit, JournalMark
from .recorder import Busy, Checkpointer, GroupCommitRecorder, JournalCommitter, keep_after_counted, write_isolating
from .visitors import client_ip, has_salt, salt_for, visitor_key

logger = logging.getLogger(__name__)

GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
GIF_HEADERS = [
    ("Content-Type", "image/gif"),
    # Proxies, image caches and browsers must ask again for every view, or views go uncounted. (HTTP/1.0's
    # Pragma and Expires add nothing: a cache that reads Cache-Control ignores them, RFC 9111, and every
    # header costs the event loop time in every response.)
    ("Cache-Control", "no-store, no-cache, must-revalidate, max-age=0"),
    ("Cross-Origin-Resource-Policy", "cross-origin"),
    ("X-Content-Type-Options", "nosniff"),
]
# granian's RSGI response_bytes says the GIF's length itself; WSGI servers and HEAD answers need it given.
GIF_HEADERS_WITH_LENGTH = [*GIF_HEADERS, ("Content-Length", str(len(GIF)))]
NOT_STORED_HEADERS = [("Content-Type", "text/plain"), ("Retry-After", "1"), ("Cache-Control", "no-store")]
NOT_STORED = b"Not counted: storage unavailable.\n"
PREFIX = "/pixel/"
# Threads running the rest of the site (Django) when served over RSGI, per worker process: what
# --blocking-threads is under WSGI.
DJANGO_THREADS = 16


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


writer_thread = GroupCommitRecorder(write_hits)
rate_cap = filters.RateCap(limit=settings.PIXEL_RATE_CAP)


copy_cap = filters.CopyCap(per_reader=settings.PIXEL_COPIES_PER_READER, per_block=settings.PIXEL_COPIES_PER_BLOCK)
_our_host = (None, "")


def our_host():
    global _our_host
    base = settings.WAGTAILADMIN_BASE_URL
    if _our_host[0] != base:  # parsed once, not on every hit; tests change the setting
        _our_host = (base, host_of(base))
    return _our_host[1]


# The signature of a story id depends only on the id (and SECRET_KEY): computing it costs a key derivation
# and two hashes per hit, looking it up a dictionary probe. Bounded, as ids come from the request. Paths
# repeat the same way (a few per story), so their parsing is kept too.
_signature = lru_cache(maxsize=4096)(sign)
_parse_path = lru_cache(maxsize=4096)(parse_pixel_path)

# "%2F" -> "/" for the ASCII escapes that fill an encoded address; anything else goes to urllib.
_ESCAPES = {high + low: chr(code) for code in range(128)
            for high in {f"{code:02x}"[0], f"{code:02X}"[0]} for low in {f"{code:02x}"[1], f"{code:02X}"[1]}}


def _unquote_plus(value):
    """urllib's unquote_plus, in a fraction of its time for the usual percent-encoded ASCII address."""
    value = value.replace("+", " ")
    if "%" not in value:
        return value
    # What encodeURIComponent makes of a plain address (our script's ?url=): only ":" and "/" escaped.
    common = value.replace("%2F", "/").replace("%3A", ":")
    if "%" not in common:
        return common
    parts = value.split("%")
    decoded = [parts[0]]
    for part in parts[1:]:
        character = _ESCAPES.get(part[:2])
        if character is None:  # a non-ASCII byte, or a stray "%"
            return unquote_plus(value)
        decoded += (character, part[2:])
    return "".join(decoded)


def _signed(story_id, signature):
    return compare_digest(_signature(story_id), signature)


def _now(utc=UTC):
    return datetime.now(utc)  # timezone.now() without its look-up of settings.USE_TZ (always on here)


def hit_from_request(environ, now=None):
    """The Hit row for one pixel request: which story and copy, whose visit, or why it does not count."""
    now = now or _now()
    row = {"received_at": now, "story_id": None, "via": "", "copy": "", "visitor": "", "filtered": ""}
    parsed = _parse_path(environ.get("PATH_INFO", ""))
    if parsed is None:
        row["filtered"] = filters.MALFORMED
        return row
    story_id, via, signature = parsed
    row["story_id"], row["via"] = story_id, via
    if not _signed(story_id, signature):
        row["filtered"] = filters.FORGED
        return row

    query = environ.get("QUERY_STRING", "")[:4000]
    if query.startswith("url=") and "&" not in query:  # what our pixels send: parse_qs's answer, faster
        page_url = _unquote_plus(query[4:])[:2000]
    else:
        try:
            page_url = (parse_qs(query, max_num_fields=5).get("url") or [""])[0][:2000]
        except ValueError:  # too many fields: a real pixel carries one at most
            page_url = ""
    referrer = environ.get("HTTP_REFERER", "")[:2000]
    copy_url, host = identify(page_url)
    if not copy_url:
        copy_url, host = identify(referrer)
    if via == "site" and (not copy_url or host == our_host()):
        copy_url = Copy.OUR_SITE
    row["copy"] = copy_url

    user_agent = environ.get("HTTP_USER_AGENT", "")[:1000]
    site = host if copy_url and copy_url != Copy.OUR_SITE else our_host()
    ip = client_ip(environ)
    row["visitor"] = visitor_key(ip, user_agent, site, now.date())
    if not user_agent.strip():
        row["filtered"] = filters.NO_USER_AGENT
    elif filters.is_prefetch(environ):
        row["filtered"] = filters.PREFETCH
    elif filters.is_bot(user_agent):
        row["filtered"] = filters.BOT
    elif is_partner_preview(page_url or referrer):
        row["filtered"] = filters.PARTNER_PREVIEW
    elif not rate_cap.allow(row["visitor"]):
        row["filtered"] = filters.RATE_LIMIT
    elif not copy_cap.allow(ip, user_agent, story_id, copy_url, now.date()):
        row["filtered"] = filters.COPY_FLOOD
    return row


def _unreadable(now=None):
    return {"received_at": now or _now(), "story_id": None, "via": "", "copy": "", "visitor": "",
            "filtered": filters.MALFORMED}


# What hit_from_request reads, as RSGI header names and WSGI environ keys.
_PIXEL_HEADERS = [(name, "HTTP_" + name.upper().replace("-", "_")) for name in (
    "user-agent", "referer", "x-forwarded-for", "sec-purpose", "purpose", "x-purpose", "x-moz")]


def _remote_address(client):
    """The address in RSGI's "host:port" (or "[v6]:port")."""
    host = client.rpartition(":")[0] if client.count(":") == 1 or client.startswith("[") else client
    return host.strip("[]")


class PixelEndpoint:
    """The application in front of the site: answers pixel requests itself and passes everything else on.

    Callable as a WSGI application; granian finds its RSGI side through `__rsgi__`."""

    def __init__(self, app, recorder=None, pool=None, journal=None, committer=None):
        self.app = app
        self.recorder = recorder or writer_thread  # WSGI: each request waits for its hit's commit
        # RSGI: each hit is journaled, answered, and committed in a batch a moment later (tracking.journal);
        # made in __rsgi_init__ unless given.
        self.journal, self.committer = journal, committer
        self._pool = pool  # under RSGI: runs the site, and the database look-up of a new day's salt

    # ---- WSGI

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(PREFIX):
            return self.app(environ, start_response)
        method = environ.get("REQUEST_METHOD", "GET")
        stored = True
        if method == "GET":
            try:
                row = hit_from_request(environ)
            except Exception:  # whatever the input, it gets the GIF and is counted as filtered
                logger.exception("Pixel request could not be read")
                row = _unreadable()
            stored = self.recorder.record(row)
        if not stored:
            start_response("503 Service Unavailable", list(NOT_STORED_HEADERS))
            return [NOT_STORED]
        start_response("200 OK", list(GIF_HEADERS_WITH_LENGTH))
        return [] if method == "HEAD" else [GIF]

    # ---- RSGI

    def _django_pool(self):
        if self._pool is None:
            self._pool = ThreadPoolExecutor(DJANGO_THREADS, thread_name_prefix="django")
        return self._pool

    def __rsgi_init__(self, loop):
        pool = self._django_pool()
        if self.committer is None:
            directory = settings.PIXEL_JOURNAL_DIR
            # Hits that a process answered but did not store before it died: stored before taking new ones.
            # In a thread: Django's connections must not be used on an event loop.
            pool.submit(recover, directory, write_hits).result()
            self.journal = Journal(directory)
            self.journal.start()
            if connection.vendor == "sqlite":
                self.committer = JournalCommitter(self.journal, SQLiteWriter())
            else:
                self.committer = JournalCommitter(self.journal, write_batch,
                                                  executor=ThreadPoolExecutor(1, thread_name_prefix="hit-writer"))
            self.committer.register()
            if loop is not None:
                self.committer.start_heartbeat(loop)

    def __rsgi_del__(self, loop):
        if self.committer is not None:
            all_stored = self.committer.flush()
            # A commit still running keeps the journal locked until the process exits: a worker starting
            # meanwhile must not store those hits a second time.
            if not self.committer.writing():
                self.journal.close(all_stored=all_stored)
                if all_stored:  # nothing left for the counting job to wait for
                    self._django_pool().submit(
                        JournalMark.objects.filter(journal__in=self.committer.marked()).delete).result()
            if isinstance(self.committer.write_batch, SQLiteWriter):
                self.committer.write_batch.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def _journal(self, row):
        """Whether the hit is safely in the journal (and queued for the database)."""
        if self.committer is None:
            self.__rsgi_init__(None)
        if self.committer.full():  # the database has been unreachable for a long while
            return False
        try:
            mark = self.journal.append(row)
        except OSError:
            logger.exception("Pixel hit could not be written to the journal")
            return False
        self.committer.add(row, mark)
        return True

    async def __rsgi__(self, scope, proto):
        if scope.proto != "http":
            return
        path = scope.path
        if not path.startswith(PREFIX):
            return await self._site(scope, proto)
        method = scope.method
        stored = True
        if method == "GET":
            now = _now()
            if not has_salt(now.date()):  # once a day per process: the database is asked in a thread
                await asyncio.get_running_loop().run_in_executor(self._django_pool(), salt_for, now.date())
            try:
                headers = scope.headers
                environ = {"PATH_INFO": path, "QUERY_STRING": scope.query_string,
                           "REMOTE_ADDR": _remote_address(scope.client)}
                for name, key in _PIXEL_HEADERS:
                    value = headers.get(name)
                    if value is not None:
                        environ[key] = value
                row = hit_from_request(environ, now)
            except Exception:
                logger.exception("Pixel request could not be read")
                row = _unreadable(now)
            stored = self._journal(row)
        if not stored:
            proto.response_bytes(503, NOT_STORED_HEADERS, NOT_STORED)
        elif method == "HEAD":
            proto.response_empty(200, GIF_HEADERS_WITH_LENGTH)
        else:
            proto.response_bytes(200, GIF_HEADERS, GIF)

    async def _site(self, scope, proto):
        """The rest of the site: the WSGI application, run in a thread of the pool."""
        body = await proto()
        environ = wsgi_environ(scope, body)
        lookup_local = getattr(self.app, "lookup_local", None)  # the page cache (byline/edge.py)
        cached = lookup_local(environ) if lookup_local else None
        if cached is not None:  # a page this worker holds: answered here, no thread needed
            status, headers, content = int(cached[0].split(" ", 1)[0]), cached[1], cached[2]
        else:
            status, headers, content = await asyncio.get_running_loop().run_in_executor(
                self._django_pool(), self._run_wsgi, environ)
        proto.response_bytes(status, headers, content)

    def _run_wsgi(self, environ):
        response = []

        def start_response(status, headers, exc_info=None):
            response[:] = [int(status.split(" ", 1)[0]), headers]
            return chunks.append

        chunks = []
        try:
            result = self.app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        except Exception:
            logger.exception("Request failed: %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"])
            return 500, [("Content-Type", "text/plain")], b"Server error.\n"
        return response[0], response[1], b"".join(chunks)


def wsgi_environ(scope, body):
    """A PEP 3333 environ for an RSGI request, as granian's own WSGI interface builds it."""
    server, _, port = scope.server.rpartition(":")
    environ = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        # RSGI hands over the path decoded as UTF-8; WSGI wants its bytes as Latin-1.
        "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": server.strip("[]"),
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": _remote_address(scope.client),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    for name, value in scope.headers.items():
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name == "content-length":
            environ["CONTENT_LENGTH"] = value
        elif "_" not in name:  # "X_Forwarded_For" must not pass for X-Forwarded-For
            key = "HTTP_" + name.upper().replace("-", "_")
            if key in environ:
                value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
            environ[key] = value
    if scope.authority and "HTTP_HOST" not in environ:  # HTTP/2
        environ["HTTP_HOST"] = scope.authority
    return environ
