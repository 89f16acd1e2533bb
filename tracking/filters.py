"""Hits that are not readers: bots, previews, prefetches, forgeries. Each gets a reason, counted for editors."""

import os
import re
import time
from socket import AF_INET6, inet_ntoa, inet_pton

import re2
from crawlerdetect.providers.crawlers import data as CRAWLERS
from crawlerdetect.providers.exclusions import data as EXCLUSIONS

FORGED = "forged"
MALFORMED = "malformed"
UNKNOWN_STORY = "unknown-story"
NO_USER_AGENT = "no-user-agent"
BOT = "bot"
PREFETCH = "prefetch"
PARTNER_PREVIEW = "partner-preview"
RATE_LIMIT = "rate-limit"
UNSTORABLE = "unstorable"
COPY_FLOOD = "copy-flood"
REASONS = {
    FORGED: "Bad or missing signature",
    MALFORMED: "Not a pixel address",
    UNKNOWN_STORY: "Unknown or unpublished story",
    NO_USER_AGENT: "No user agent",
    BOT: "Bot, crawler, link preview or HTTP library",
    PREFETCH: "Prefetch or prerender",
    PARTNER_PREVIEW: "Partner's CMS editor or preview",
    RATE_LIMIT: "Too many hits from one visitor",
    UNSTORABLE: "Refused by the database as received",
    COPY_FLOOD: "Too many pages from one reader",
}

# What the maintained list misses or must be sure of: link previews, HTTP libraries, headless browsers and
# the image proxies of mail services, which fetch a pixel once for every reader or for none.
# Plain substrings of the lower-cased user agent: one pass of `in` checks costs a few microseconds, where the
# same list as one case-insensitive regular expression cost tens on every hit.
OUR_BOTS = (
    "facebookexternalhit", "facebookcatalog", "meta-externalagent", "twitterbot", "slackbot", "slack-imgproxy",
    "discordbot", "whatsapp", "telegrambot", "linkedinbot", "skypeuripreview", "iframely", "embedly",
    "pinterestbot", "redditbot", "mastodon", "bluesky", "cardyb", "google-pagerenderer", "googleimageproxy",
    "ggpht.com", "yahoomailproxy", "outlook-ios-android", "ms-office", "microsoft office", "feedfetcher", "feedly",
    "newsblur", "inoreader", "python-requests", "python-urllib", "aiohttp", "httpx", "curl/", "wget/",
    "go-http-client", "okhttp", "axios/", "node-fetch", "undici", "java/", "libwww-perl", "apache-httpclient",
    "headlesschrome", "phantomjs", "electron/", "lighthouse", "pingdom", "uptimerobot", "statuscake", "site24x7",
)


def _crawler_expressions():
    """CrawlerDetect's maintained lists, matched as CrawlerDetect matches them (browser tokens removed first,
    then any crawler pattern anywhere, case-insensitively), with the crawler patterns in RE2.

    As one Python expression the 1,460 crawler patterns took 110-150 us on an agent never seen before, as
    `re` tries each alternative at each position: anyone sending made-up agents could make every hit that
    dear. RE2 runs them in one pass in time linear in the agent, about 1.5 us. The patterns RE2 cannot run
    (today one, with a look-ahead) stay in Python, as do the 52 short exclusions (~7 us on a browser's
    agent, up to ~0.4 ms on a crafted 1,000-character one)."""
    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True
    options.max_mem = 64 << 20  # the compiled automaton of the whole list, with room to spare
    options.log_errors = False  # a pattern RE2 cannot run is expected: it goes to Python
    in_re2, in_python = [], []
    for pattern in CRAWLERS:
        try:
            re2.compile(pattern, options)
        except re2.error:
            in_python.append(pattern)
        else:
            in_re2.append(pattern)
    return (re.compile("|".join(EXCLUSIONS), re.IGNORECASE), re2.compile("|".join(in_re2), options),
            re.compile("|".join(in_python), re.IGNORECASE) if in_python else None)


_EXCLUSIONS, _CRAWLERS, _CRAWLERS_IN_PYTHON = _crawler_expressions()


def is_crawler(user_agent):
    """CrawlerDetect's verdict on `user_agent`."""
    agent = _EXCLUSIONS.sub("", user_agent.strip())
    if not agent:
        return False
    return bool(_CRAWLERS.search(agent) or (_CRAWLERS_IN_PYTHON and _CRAWLERS_IN_PYTHON.search(agent)))


# A real audience sends the same few thousand user agents over and over: the verdict on each is kept (in
# memory only, never with an address) so that most hits cost one dictionary probe instead of ~5 us of
# substring checks and ~10 us of crawler patterns.
_verdicts = {}
MAX_VERDICTS = 10_000


def is_bot(user_agent):
    verdict = _verdicts.get(user_agent)
    if verdict is None:
        verdict = _is_bot(user_agent)
        if len(_verdicts) >= MAX_VERDICTS:
            _verdicts.clear()
        _verdicts[user_agent] = verdict
    return verdict


def _is_bot(user_agent):
    lowered = user_agent.lower()
    return any(marker in lowered for marker in OUR_BOTS) or is_crawler(user_agent)


_PURPOSE_HEADERS = ("HTTP_SEC_PURPOSE", "HTTP_PURPOSE", "HTTP_X_PURPOSE", "HTTP_X_MOZ")


def is_prefetch(environ):
    for name in _PURPOSE_HEADERS:
        purpose = environ.get(name)
        if purpose:
            purpose = purpose.lower()
            if "prefetch" in purpose or "prerender" in purpose or "preview" in purpose:
                return True
    return False


def not_a_reader(environ, user_agent):
    """Why a request is not a reader's, in the order every counter asks (the pixel, appeals' views and
    clicks): no user agent, a prefetch, a bot; "" for a reader. Each counter then applies its own caps."""
    if not user_agent.strip():
        return NO_USER_AGENT
    if is_prefetch(environ):
        return PREFETCH
    if is_bot(user_agent):
        return BOT
    return ""


class RateCap:
    """At most `limit` counted hits per visitor key per minute in this process; beyond that a visitor is a
    reload loop or a script. Kept in memory only: it holds visitor keys, never addresses.

    No lock: each dictionary operation is atomic under the GIL, and two threads racing over the same key or
    the minute's reset can at worst let one hit more through, which a cap of thirty can afford."""

    def __init__(self, limit=30, window=60.0):
        self.limit, self.window = limit, window
        self._counts, self._started = {}, time.monotonic()

    def allow(self, visitor, now=None):
        """`now`: the hit's time in seconds, for hits read after the fact; this process's clock otherwise.
        One cap is fed from one clock."""
        if now is None:
            now = time.monotonic()
        if now - self._started > self.window:
            self._counts, self._started = {}, now
        counts = self._counts
        count = counts.get(visitor, 0) + 1
        counts[visitor] = count
        return count <= self.limit


# Networks whose addresses say only that a proxy we were not told of (BYLINE_TRUSTED_PROXIES) stands in front of
# the pixel: there every reader would share one block, so the block cap does not apply (the reader cap does).
_LOCAL_V4 = {"10", "127"}
_LOCAL_V4_PAIRS = ({("172", str(second)) for second in range(16, 32)} | {("192", "168"), ("169", "254")}
                   | {("100", str(second)) for second in range(64, 128)})
_V4_MAPPED = bytes(10) + b"\xff\xff"
_V6_LOOPBACK = bytes(15) + b"\x01"


def address_block(ip):
    """The network a reader's address belongs to, as far as one household, office or host goes: the /24 of an
    IPv4 address, the /48 of an IPv6 one; None for a loopback or private address (a proxy we do not know).
    Not an address (a garbled header) is a block of its own. Computed in memory, never stored."""
    if ":" not in ip:
        head, dot, _ = ip.rpartition(".")
        if not dot:
            return ip
        first, _, rest = head.partition(".")
        if first in _LOCAL_V4 or (first, rest.partition(".")[0]) in _LOCAL_V4_PAIRS:
            return None
        return head
    try:
        packed = inet_pton(AF_INET6, ip.partition("%")[0])
    except (OSError, ValueError):
        return ip
    if packed[:12] == _V4_MAPPED:
        return address_block(inet_ntoa(packed[12:]))
    if packed == _V6_LOOPBACK or packed[0] & 0xFE == 0xFC or (packed[0] == 0xFE and packed[1] & 0xC0 == 0x80):
        return None
    return packed[:6]


class CopyCap:
    """At most `per_reader` copies (pages) of one story a day from one reader, and `per_block` from one address
    block (address_block), in this process; hits on a copy the reader was already let through on pass.

    The pixel's visitor key includes the copy's site, so a script sending one address's hits with a new
    ?url= host each time is a new visitor every time (10,000 hits: 10,019 readers). The reader here is the
    address and browser without the site. Kept in memory only, as 64-bit hashes salted per process and per
    day (never an address); reset at each UTC day, and forgotten when it holds more than `max_copies`
    copies, so that memory stays bounded and a doubt counts the hit. Without a lock, as RateCap: a race lets
    one hit more through at worst. 0 for a limit turns it off."""

    def __init__(self, per_reader=20, per_block=200, max_copies=200_000):
        self.per_reader, self.per_block, self.max_copies = per_reader, per_block, max_copies
        self._day = None
        self._reset(None)

    def _reset(self, day):
        # reader and story: the copy's hash, or a set of them once there are two
        self._readers, self._blocks, self._size = {}, {}, 0
        self._salt, self._day = os.urandom(16), day

    def clear(self):
        self._reset(None)

    def allow(self, ip, user_agent, story_id, copy, day):
        if day != self._day:
            self._reset(day)
        readers, salt = self._readers, self._salt
        reader = hash((salt, ip, user_agent, story_id))
        page = hash(copy)
        seen = readers.get(reader)
        if seen is None:
            count = 0
        elif seen.__class__ is int:
            if seen == page:
                return True
            count = 1
        else:
            if page in seen:
                return True
            count = len(seen)
        if self.per_reader and count >= self.per_reader:
            return False
        if self.per_block:
            block = address_block(ip)
            if block is not None:
                key = hash((salt, block, story_id))
                in_block = self._blocks.get(key, 0)
                if in_block >= self.per_block:
                    return False
                self._blocks[key] = in_block + 1
        if seen is None:
            readers[reader] = page
        elif count == 1:
            readers[reader] = {seen, page}
        else:
            seen.add(page)
        self._size += 1
        if self._size > self.max_copies:
            self._reset(day)
        return True
