"""The pixel: a request to /pixel/<story>/<via>/<signature>.gif, answered before Django is involved.

    PixelEndpoint.__call__  ->  hit_from_request()  ->  recorder.record()  ->  write_hits()  ->  Hit rows
                                 (filters, copy,        (group commit,        (one INSERT per
                                  visitor key)           waits for disk)       batch)

The counting job (`tracking.counting`) later turns Hit rows into the hourly rollups editors read.
Every input gets the same 43-byte GIF with `no-store`; only a failure to store the hit answers 503, so that
nothing is acknowledged that could be lost.
"""

import logging
from urllib.parse import parse_qs

from django.conf import settings
from django.utils import timezone

from republish.pixel import is_valid, parse_pixel_path

from . import filters
from .copies import host_of, is_partner_preview, normalize
from .models import Copy, Hit
from .recorder import GroupCommitRecorder
from .visitors import client_ip, visitor_key

logger = logging.getLogger(__name__)

GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
GIF_HEADERS = [
    ("Content-Type", "image/gif"),
    ("Content-Length", str(len(GIF))),
    # Proxies, image caches and browsers must ask again for every view, or views go uncounted.
    ("Cache-Control", "no-store, no-cache, must-revalidate, max-age=0"),
    ("Pragma", "no-cache"),
    ("Expires", "0"),
    ("Cross-Origin-Resource-Policy", "cross-origin"),
    ("X-Content-Type-Options", "nosniff"),
]
PREFIX = "/pixel/"


def write_hits(rows):
    Hit.objects.bulk_create([Hit(**row) for row in rows])


recorder = GroupCommitRecorder(write_hits)
rate_cap = filters.RateCap(limit=settings.PIXEL_RATE_CAP)


def our_host():
    return host_of(settings.WAGTAILADMIN_BASE_URL)


def hit_from_request(environ, now=None):
    """The Hit row for one pixel request: which story and copy, whose visit, or why it does not count."""
    now = now or timezone.now()
    row = {"received_at": now, "story_id": None, "via": "", "copy": "", "visitor": "", "filtered": ""}
    parsed = parse_pixel_path(environ.get("PATH_INFO", ""))
    if parsed is None:
        row["filtered"] = filters.MALFORMED
        return row
    story_id, via, signature = parsed
    row["story_id"], row["via"] = story_id, via
    if not is_valid(story_id, signature):
        row["filtered"] = filters.FORGED
        return row

    try:
        query = parse_qs(environ.get("QUERY_STRING", "")[:4000], max_num_fields=5)
    except ValueError:  # too many fields: a real pixel carries one at most
        query = {}
    page_url = (query.get("url") or [""])[0][:2000]
    referrer = environ.get("HTTP_REFERER", "")[:2000]
    copy_url = normalize(page_url) or normalize(referrer)
    if via == "site" and (not copy_url or host_of(copy_url) == our_host()):
        copy_url = Copy.OUR_SITE
    row["copy"] = copy_url

    user_agent = environ.get("HTTP_USER_AGENT", "")[:1000]
    site = our_host() if copy_url in ("", Copy.OUR_SITE) else host_of(copy_url)
    row["visitor"] = visitor_key(client_ip(environ), user_agent, site, now.date())
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
    return row


class PixelEndpoint:
    """WSGI middleware answering pixel requests itself and passing everything else on."""

    def __init__(self, app, recorder=recorder):
        self.app = app
        self.recorder = recorder

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
                row = {"received_at": timezone.now(), "story_id": None, "via": "", "copy": "", "visitor": "",
                       "filtered": filters.MALFORMED}
            stored = self.recorder.record(row)
        if not stored:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Retry-After", "1"),
                                                       ("Cache-Control", "no-store")])
            return [b"Not counted: storage unavailable.\n"]
        start_response("200 OK", list(GIF_HEADERS))
        return [] if method == "HEAD" else [GIF]
