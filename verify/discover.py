"""Finding the page of a copy whose readers' browsers sent only the partner's site.

Browsers send only the origin ("https://partner.example/") as the pixel's Referer when the pixel lost its
`referrerpolicy` attribute, as WordPress's filter does for Authors, and the partner's page keeps the default
policy. Hits then name the site, not the page, and copies of different stories on one site are told apart
only by the story in the pixel's address. Byline finds the page itself, as a reader would: in the site's
feeds and sitemaps (WordPress serves `/feed/` and `/wp-sitemap.xml` by default), the page that carries this
story's pixel and whose text is the story's.

What is read, in order, all through the verifier's safe fetcher (its allow-list and per-host rate limit):
the sitemaps `robots.txt` names, then `/wp-sitemap.xml`, `/sitemap.xml`, `/sitemap_index.xml`, and the feeds
`/feed/`, `/rss`, `/feed.xml`. A sitemap index leads to its sitemaps. Candidate pages are ranked (a feed
item whose content holds this story's pixel first, then by the headline's words in the page's title or
address) and the best are fetched and checked. One page found: the copy's `found_url`. Two or more: the
copy stays on its origin, with the pages listed (its hits cannot be split between them). None: said so.
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from lxml import etree

from byline.fetch import Fetcher, FetchError
from republish import pixel
from stories.models import StoryPage
from tracking.api import Copy, normalize

from .checks import check_text
from .original import original_for
from .page import CopyPage, decode
from .text import norm

logger = logging.getLogger(__name__)

SITEMAPS = ("/wp-sitemap.xml", "/sitemap.xml", "/sitemap_index.xml")
FEEDS = ("/feed/", "/rss", "/feed.xml")
# Bounds on one copy's search, so that a huge or hostile site costs a few requests, not thousands.
MAX_DOCUMENTS = 12  # robots.txt, sitemaps (index and children) and feeds read
MAX_URLS = 5000  # addresses taken from them
MAX_PAGES = 8  # candidate pages fetched and checked
# A page counts as this story's copy when at least this share of the story's text is on it (with the pixel).
MIN_SIMILARITY = 0.5
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True)
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset("a an and are as at be by for from has have in is it its of on or that the this to was were "
                  "will with".split())


def interval_hours():
    return float(getattr(settings, "DISCOVER_INTERVAL_HOURS", 6))


def words(text):
    return {word for word in _WORD.findall(norm(text or "").replace("-", " ")) if word not in _STOP}


@dataclass
class Candidate:
    url: str
    title: str = ""
    content: str = ""  # a feed item's HTML, where WordPress puts the whole post
    carries_pixel: bool = False  # that content holds this story's pixel
    score: float = 0.0


@dataclass
class Outcome:
    copy: Copy
    status: str  # Copy.FOUND, Copy.SEVERAL or Copy.NONE
    pages: list = field(default_factory=list)
    read: list = field(default_factory=list)  # the feeds and sitemaps read
    note: str = ""

    @property
    def found_url(self):
        return self.pages[0] if self.status == Copy.FOUND else ""

    def line(self):
        """One line for a terminal (URLs as partners' sites gave them: the command makes them printable)."""
        story, origin = self.copy.story_id, self.copy.url
        if self.status == Copy.FOUND:
            return f"found        {self.found_url} (story {story}, whose hits from {origin} are counted on it)"
        if self.status == Copy.SEVERAL:
            return f"several      {origin} (story {story}): {', '.join(self.pages)}"
        return f"not found    {origin} (story {story}): {self.note}"


def origin_only_copies(story_id=None, due=True, now=None):
    """Copies known only by a partner's origin whose page is not known: never looked for, or not found
    (or found several times) more than DISCOVER_INTERVAL_HOURS ago. With `due=False`, all of them."""
    copies = (Copy.objects.exclude(url__in=[Copy.OUR_SITE, Copy.UNKNOWN]).exclude(found_status=Copy.FOUND)
              .filter(Q(url__startswith="http://") | Q(url__startswith="https://")))
    if story_id is not None:
        copies = copies.filter(story_id=story_id)
    if due:
        cutoff = (now or timezone.now()) - timedelta(hours=interval_hours())
        copies = copies.filter(Q(found_checked_at__isnull=True) | Q(found_checked_at__lt=cutoff))
    return [copy for copy in copies.order_by("found_checked_at", "pk") if copy.is_origin_only]


class Discoverer:
    """Looks for the pages of origin-only copies; one fetcher, and each story's original built once."""

    def __init__(self, fetcher=None):
        self.fetcher = fetcher or Fetcher()
        self.originals = {}
        self.listings = {}  # origin -> (candidates' raw entries, documents read): one site read once per run

    def original(self, story_id):
        if story_id not in self.originals:
            story = StoryPage.objects.filter(pk=story_id).first()
            self.originals[story_id] = original_for(story) if story else None
        return self.originals[story_id]

    def discover(self, copy, now=None):
        """Look for `copy`'s page and record the outcome on it; the Outcome, or None if its story is gone."""
        original = self.original(copy.story_id)
        if original is None:
            return None
        entries, read = self.site_listing(copy.url)
        candidates = rank(entries, original, copy.url)
        pages, checked = [], []
        for candidate in candidates[:MAX_PAGES]:
            verdict = self.confirm(candidate.url, original)
            checked.append(f"{candidate.url}: {verdict}")
            if verdict == "the story, with its pixel":
                pages.append(candidate.url)
        if len(pages) == 1:
            outcome = Outcome(copy, Copy.FOUND, pages, read, f"Found in {', '.join(read)}.")
        elif pages:
            outcome = Outcome(copy, Copy.SEVERAL, pages, read, ", ".join(pages))  # Copy.finding words it
        else:
            looked = ", ".join(read) if read else "no feed or sitemap answered"
            tried = f" Pages checked: {'; '.join(checked)}." if checked else ""
            outcome = Outcome(copy, Copy.NONE, [], read,
                              f"No page with the story and its pixel. Read: {looked}.{tried}")
        record(outcome, now)
        return outcome

    # -- reading the site

    def site_listing(self, origin):
        if origin not in self.listings:
            self.listings[origin] = self._read_site(origin)
        return self.listings[origin]

    def _read_site(self, origin):
        entries, read, seen = [], [], set()
        queue = [urljoin(origin + "/", path) for path in self._robots_sitemaps(origin, read, seen)]
        queue += [origin + path for path in SITEMAPS + FEEDS]
        while queue and len(seen) < MAX_DOCUMENTS and len(entries) < MAX_URLS:
            url = queue.pop(0)
            if url in seen or not same_origin(url, origin):
                continue
            seen.add(url)
            body = self._get(url)
            if body is None:
                continue
            root = parse_xml(body)
            if root is None:
                continue
            kind, found, children = read_listing(root)
            if kind is None:
                continue
            read.append(url)
            entries += [entry for entry in found if same_origin(entry.url, origin)]
            queue = children + queue  # a sitemap index's sitemaps before the other guesses
        return entries[:MAX_URLS], read

    def _robots_sitemaps(self, origin, read, seen):
        url = origin + "/robots.txt"
        seen.add(url)
        body = self._get(url)
        if body is None:
            return []
        named = []
        for line in decode(body, None).splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() == "sitemap" and value.strip():
                named.append(value.strip())
        if named:
            read.append(url)
        return named

    def _get(self, url):
        try:
            fetched = self.fetcher.get(url)
        except FetchError as error:
            logger.info("discovery: %s not read (%s)", url, error.kind)
            return None
        if not 200 <= fetched.status < 300:
            return None
        return fetched.body

    def confirm(self, url, original):
        """Whether the page at `url` is this story's copy: its pixel for this story, and the story's text."""
        try:
            fetched = self.fetcher.get(url)
        except FetchError as error:
            return f"not read ({error.kind})"
        if not 200 <= fetched.status < 300:
            return f"answers {fetched.status}"
        page = CopyPage(decode(fetched.body, fetched.charset), fetched.final_url, fetched.headers)
        if not carries_pixel_of(page, original.story_id):
            return "no pixel of this story"
        similarity = check_text(original, page).evidence["similarity"]
        if similarity < MIN_SIMILARITY:
            return f"the pixel, but only {similarity:.0%} of the story's text"
        return "the story, with its pixel"


def record(outcome, now=None):
    """Keep the outcome on the copy; only these fields, as the counting job updates the copy's last_seen."""
    Copy.objects.filter(pk=outcome.copy.pk).update(
        found_url=outcome.found_url[:500], found_status=outcome.status, found_note=outcome.note[:1000],
        found_checked_at=now or timezone.now())
    outcome.copy.refresh_from_db()


def discover_copies(story_id=None, due=True, fetcher=None, now=None, progress=None, copies=None):
    """Look for the pages of `copies`, or of the origin-only copies (of one story, or all that are due);
    the outcomes."""
    discoverer = Discoverer(fetcher)
    outcomes = []
    for copy in origin_only_copies(story_id, due=due, now=now) if copies is None else copies:
        outcome = discoverer.discover(copy, now)
        if outcome is not None:
            outcomes.append(outcome)
            if progress:
                progress(outcome)
    return outcomes


# -- what the documents say

def same_origin(url, origin):
    try:
        a, b = urlsplit(url), urlsplit(origin)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)
    except ValueError:
        return False


def parse_xml(body):
    try:
        return etree.fromstring(body, XML_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None


def _local(tag):
    return tag.rpartition("}")[2].lower() if isinstance(tag, str) else ""


def _child_text(element, *names):
    for child in element:
        if _local(child.tag) in names:
            return (child.text or "").strip() or child.get("href", "").strip()
    return ""


def read_listing(root):
    """(kind, candidate entries, sitemaps to read next) of a sitemap, sitemap index, RSS or Atom feed."""
    kind = _local(root.tag)
    if kind == "sitemapindex":
        return kind, [], [_child_text(entry, "loc") for entry in root if _local(entry.tag) == "sitemap"
                          and _child_text(entry, "loc")]
    if kind == "urlset":
        return kind, [Candidate(url=_child_text(entry, "loc")) for entry in root
                      if _local(entry.tag) == "url" and _child_text(entry, "loc")], []
    if kind in ("rss", "rdf"):
        items = [item for item in root.iter() if _local(item.tag) == "item"]
        return "feed", [_feed_candidate(item, "link") for item in items if _child_text(item, "link")], []
    if kind == "feed":  # Atom
        entries = []
        for entry in root:
            if _local(entry.tag) != "entry":
                continue
            links = [link.get("href", "") for link in entry if _local(link.tag) == "link"
                     and link.get("rel", "alternate") == "alternate"]
            if links and links[0]:
                entries.append(_feed_candidate(entry, None, links[0]))
        return "feed", entries, []
    return None, [], []


def _feed_candidate(item, link_name, link=None):
    content = " ".join((child.text or "") for child in item if _local(child.tag) in ("encoded", "content",
                                                                                         "description", "summary"))
    return Candidate(url=(link or _child_text(item, link_name)).strip(), title=_child_text(item, "title"),
                     content=content)


def rank(entries, original, origin):
    """Distinct candidate pages, best first: a feed item carrying this story's pixel, then by how many of the
    headline's words its title or address holds. Pages sharing none of them are left out."""
    wanted = words(original.headline)
    pixel_path = f"/pixel/{original.story_id}/"
    best = {}
    for entry in entries:
        url = normalize(entry.url)
        if not url or "/" not in url.partition("://")[2] or not same_origin(url, origin):
            continue
        carries = pixel_path in entry.content
        have = words(entry.title) | words(urlsplit(url).path.replace("/", " "))
        overlap = len(wanted & have) / len(wanted) if wanted else 0.0
        score = (2.0 if carries else 0.0) + overlap
        if score <= 0:
            continue
        if url not in best or best[url].score < score:
            best[url] = Candidate(url=url, title=entry.title, carries_pixel=carries, score=score)
    return sorted(best.values(), key=lambda candidate: (-candidate.score, candidate.url))


def carries_pixel_of(page, story_id):
    for url, _where, _element in page.images:
        parsed = pixel.parse_pixel_path(urlsplit(url).path)
        if parsed and parsed[0] == story_id and pixel.is_valid(parsed[0], parsed[2]):
            return True
    return False
