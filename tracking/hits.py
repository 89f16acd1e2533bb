"""Reading a pixel hit: which story and copy a request is for, whose visit it is, or why it does not count.

    hit_from_request(environ) -> {"received_at", "story_id", "via", "copy", "visitor", "filtered"}

`environ` is a WSGI environ, or the few keys of it the RSGI server adapter (byline/server.py) builds. The row
goes to a recorder (tracking.recorder) to be stored, and the counting job (tracking.counting) turns stored
rows into the counts editors read.
"""

from datetime import UTC, datetime
from functools import lru_cache
from hmac import compare_digest
from urllib.parse import parse_qs, unquote_plus

from django.conf import settings

from republish.pixel import parse_pixel_path, sign

from . import filters
from .copies import identify, is_partner_preview, our_host
from .models import Copy
from .visitors import client_ip, visitor_key

# Per process: a reader's hits reach one worker at a time only by chance, so the caps are generous.
rate_cap = filters.RateCap(limit=settings.PIXEL_RATE_CAP)
copy_cap = filters.CopyCap(per_reader=settings.PIXEL_COPIES_PER_READER, per_block=settings.PIXEL_COPIES_PER_BLOCK)

# The signature of a story id depends only on the id (and SECRET_KEY): computing it costs a key derivation
# and two hashes per hit, looking it up a dictionary probe. Bounded, as ids come from the request. Paths
# repeat the same way (a few per story), so their parsing is kept too.
_signature = lru_cache(maxsize=4096)(sign)
_parse_path = lru_cache(maxsize=4096)(parse_pixel_path)

# "%2F" -> "/" for the ASCII escapes that fill an encoded address; anything else goes to urllib.
_ESCAPES = {high + low: chr(code) for code in range(128)
            for high in {f"{code:02x}"[0], f"{code:02X}"[0]} for low in {f"{code:02x}"[1], f"{code:02X}"[1]}}


def _unquote_plus(value):
    """urllib's unquote_plus, in a tenth of its time for the address our script sends (bench/hot_path.py);
    about the same with other escapes, and urllib's own time plus a little for non-ASCII addresses, which it
    hands over. Tests hold the result to urllib's."""
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


def _signed(story_id, via, signature):
    return compare_digest(_signature(story_id, via), signature)


def utc_now(utc=UTC):
    return datetime.now(utc)  # timezone.now() without its look-up of settings.USE_TZ (always on here)


def hit_from_request(environ, now=None, replayed=False):
    """The Hit row for one pixel request: which story and copy, whose visit, or why it does not count.

    `replayed`: the request was answered earlier, at `now` (tracking.nginx_log), so the rate cap goes by that
    time rather than this process's clock: a backlog read in seconds is not a reload loop."""
    now = now or utc_now()
    row = {"received_at": now, "story_id": None, "via": "", "copy": "", "visitor": "", "filtered": ""}
    parsed = _parse_path(environ.get("PATH_INFO", ""))
    if parsed is None:
        row["filtered"] = filters.MALFORMED
        return row
    story_id, via, signature = parsed
    row["story_id"], row["via"] = story_id, via
    if not _signed(story_id, via, signature):
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
    elif not copy_url and via[:1] == "p":  # a partner's feed: its reader counts for the partner (partners/)
        copy_url = Copy.partner_page(via[1:])
    row["copy"] = copy_url

    user_agent = environ.get("HTTP_USER_AGENT", "")[:1000]
    site = (host or copy_url) if copy_url and copy_url != Copy.OUR_SITE else our_host()
    ip = client_ip(environ)
    row["visitor"] = visitor_key(ip, user_agent, site, now.date())
    row["filtered"] = (
        filters.not_a_reader(environ, user_agent)
        or (filters.PARTNER_PREVIEW if is_partner_preview(page_url or referrer) else "")
        or (filters.RATE_LIMIT if not rate_cap.allow(row["visitor"], now.timestamp() if replayed else None)
            else "")
        or (filters.COPY_FLOOD if not copy_cap.allow(ip, user_agent, story_id, copy_url, now.date()) else "")
    )
    return row


def unreadable(now=None):
    """The row of a request that could not be read at all: counted, as malformed."""
    return {"received_at": now or utc_now(), "story_id": None, "via": "", "copy": "", "visitor": "",
            "filtered": filters.MALFORMED}
