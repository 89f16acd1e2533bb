"""The pixel: a request to /pixel/<story>/<via>/<signature>.gif, answered before Django is involved.

A reader's request flows one way:

    byline/server.py          the server adapter (WSGI or granian's RSGI) hands the request to the pixel
    Pixel.answer()            here: read the hit, store it, answer with the GIF
      tracking/hits.py        hit_from_request(): which story and copy, whose visit, or why it does not count
      tracking/recorder.py    recorder.record(row): GroupCommitRecorder (WSGI: the request waits for the
                              commit) or JournaledRecorder (RSGI: journaled, answered, committed a moment
                              later), both storing through tracking/writers.py
    tracking/counting.py      the counting job turns stored hits into the hourly counts editors read

Every input gets the same 43-byte GIF with `no-store`; only a failure to store the hit answers 503, so that
nothing is acknowledged that could be lost.
"""

import logging

from django.conf import settings

from .hits import hit_from_request, unreadable, utc_now
from .recorder import GroupCommitRecorder, JournaledRecorder
from .visitors import has_salt, salt_for
from .writers import write_hits

logger = logging.getLogger(__name__)

PREFIX = "/pixel/"
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

# The three answers, as (status, headers, body): the GIF's headers without its length where the server says it.
COUNTED = (200, GIF_HEADERS, GIF)
COUNTED_WITH_LENGTH = (200, GIF_HEADERS_WITH_LENGTH, GIF)
HEAD = (200, GIF_HEADERS_WITH_LENGTH, b"")
NOT_COUNTED = (503, NOT_STORED_HEADERS, NOT_STORED)

# What hit_from_request reads, as request header names and WSGI environ keys: all a server adapter needs to
# hand over.
HEADERS = [(name, "HTTP_" + name.upper().replace("-", "_")) for name in (
    "user-agent", "referer", "x-forwarded-for", "sec-purpose", "purpose", "x-purpose", "x-moz")]

# Shared by the WSGI pixel's threads of a process: each request waits until its batch is committed.
group_commit = GroupCommitRecorder(write_hits)


class Pixel:
    """Answers pixel requests for a server adapter: `answer(method, environ)` -> (status, headers, body).

    `recorder`: where hits go; group commit unless given. A server that runs an event loop (RSGI) calls
    `start_journal(pool, loop)` first: from then on hits are journaled (tracking.journal) and nobody waits
    for a commit (unless a recorder was given); `stop(pool)` stores what is queued."""

    prefix = PREFIX
    headers = HEADERS

    def __init__(self, recorder=None):
        self.recorder = recorder or group_commit

    def start_journal(self, pool, loop=None):
        if self.recorder is group_commit:  # a recorder given (tests, benches) stays
            self.recorder = JournaledRecorder(settings.PIXEL_JOURNAL_DIR)
        if isinstance(self.recorder, JournaledRecorder):
            self.recorder.start(pool, loop)

    def stop(self, pool):
        if isinstance(self.recorder, JournaledRecorder):
            self.recorder.stop(pool)

    @staticmethod
    def needs_salt(today):
        """Whether the day's salt must be fetched (once a day per process, from the database) before a hit of
        `today` can be read: an adapter on an event loop does that in a thread."""
        return not has_salt(today)

    fetch_salt = staticmethod(salt_for)
    clock = staticmethod(utc_now)

    def answer(self, method, environ, when=None, with_length=True):
        if method == "GET":
            when = when or utc_now()
            try:
                row = hit_from_request(environ, when)
            except Exception:  # whatever the input, it gets the GIF and is counted as filtered
                logger.exception("Pixel request could not be read")
                row = unreadable(when)
            if not self.recorder.record(row):
                return NOT_COUNTED
        elif method == "HEAD":
            return HEAD
        return COUNTED_WITH_LENGTH if with_length else COUNTED
