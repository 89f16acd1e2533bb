"""A partner's keyed feeds (Atom 1.0 and a list of ninjs 2.2 items) and its own page of copies and readers.

What the feeds carry: every story that may travel to partners now (`may_travel`: published, republishable
under the policy, and our own unless the policy sends wire stories too), each with the copy-ready handout
whose tracking pixel names the partner (`republish.pixel.partner_via`), the licence, the credit, the
corrections in date order and a schema.org `NewsArticle` block. The feeds are bounded (`FEED_DAYS`,
`FEED_LIMIT`): stories first published in the last 30 days, and older ones the feeds offered before that were
published again since (a correction, an update); at most the 500 most recently published. Ids are tag URIs,
`tag:<our host>,<year of first publication>:story/<page id>`, fixed when a story is first offered, so they
survive a new slug or section.

`FeedEntry` keeps one row per story ever offered. `refresh()` updates it while the feeds are built: a story
whose carried content changes (its fingerprint) gets a new `updated` and `version`; one that stops being
eligible (withdrawn by editors, embargoed, its window closed, unpublished, deleted, made private) is marked
withdrawn, and the ninjs feed lists it as `pubstatus: canceled` (the Atom feed just drops it). A story that
ages out of the bound while still eligible is not withdrawn: it leaves both feeds quietly.

Caching: one build serves every partner. The build's stories carry a placeholder pixel (`p0`, which no
partner has and the pixel refuses); each item is kept as UTF-8 cut at that pixel (`pieces`) and joined with
the partner's own signed pixel on each request (`render`), so after a purge the first request of any partner
pays for the build and the others only for the join. The build lives in Django's cache under a token that
`partners.signals` replaces whenever stories, corrections, sections, authors, origins, the newsroom or the
policy change, and it expires on its own at the next moment a story's eligibility changes with time (an
embargo lifts, a window closes), or after `FEED_CACHE_SECONDS`. Each process keeps the build it last read for
as long as the token stands.

Keys are looked up in the database on every request (`Partner.objects.with_key`): a revoked, paused or ended
key stops working at once on every process. Each partner has `rate_per_minute()` feed requests a minute
(fixed one-minute windows in the shared cache); `record_fetch` writes `last_feed_fetch` and `feed_fetches` at
most once a minute per partner, the requests in between added with the next write.
"""

import hashlib
import json
import logging
import math
import re
import time
import uuid
from datetime import UTC, timedelta
from functools import lru_cache
from urllib.parse import urljoin, urlsplit
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.translation import to_locale
from wagtail.models import Site
from wagtail.rich_text import expand_db_html

from byline.sanitize import clean_html
from republish import pixel
from republish.eligibility import Eligibility, is_republishable
from republish.handout import build_handout
from republish.models import RepublishingPolicy
from republish.text import html_to_text
from stories.models import NewsroomSettings, StoryPage, with_sections
from stories.templatetags.byline_tags import json_ld
from tracking.api import Copy, copies_report, neutralise, period_from
from wire.export import STANDARD, names, timestamp, version_created, without_empty

from .models import FeedEntry, Partner

logger = logging.getLogger(__name__)

FEED_DAYS = 30  # stories first published (or, once offered, published again) in this many days
FEED_LIMIT = 500  # and at most this many, the most recently published first
FEED_CACHE_SECONDS = 600  # a build is kept at most this long (purges and eligibility changes come sooner)
FEED_TOKEN = "partners:feed-token"
BUILD_LOCK_SECONDS = 30  # while one process builds, others wait for its build...
BUILD_WAIT_SECONDS = 5  # ...this long at most (a build of 500 stories takes about 1.5 s), then build themselves
RATE_PER_MINUTE = 60  # feed requests per partner and minute, unless settings.PARTNER_FEED_REQUESTS_PER_MINUTE
FETCH_WRITE_SECONDS = 60  # last_feed_fetch and feed_fetches are written at most this often per partner
HANDOUT_NS = "urn:byline:handout"  # the Atom feed's elements for what Atom has no place for
PLACEHOLDER_VIA = pixel.partner_via(0)  # "p0": in the shared build, swapped for the partner's on each request


# ---- Which stories travel

def may_travel(story, policy, now=None):
    """Whether partners' feeds carry `story` now, and why not: the republishing rules (republish.eligibility)
    and, for stories that are not our own, the policy's `wire_to_partners`."""
    if not story.is_own and not policy.wire_to_partners:
        return Eligibility(False, "Partners' feeds carry our own stories only.", "wire")
    return is_republishable(story, policy, now)


def candidates(now):
    """The stories within the feeds' bound, the most recently published first (see the module's docstring)."""
    cutoff = now - timedelta(days=FEED_DAYS)
    offered = FeedEntry.objects.values("story_id")
    stories = (
        StoryPage.objects.live().public()
        .filter(Q(first_published_at__gte=cutoff) | Q(last_published_at__gte=cutoff, pk__in=offered))
        .select_related("origin")
        .prefetch_related("story_authors__author", "corrections", "tags")
        .order_by(F("last_published_at").desc(nulls_last=True), "-pk")
    )
    stories = with_sections(stories[:FEED_LIMIT])
    for story in stories:  # StoryPage.authors would ask again, story by story
        story.__dict__["authors"] = [link.author for link in story.story_authors.all()]
    return stories


def next_change(story, policy, decision, now):
    """When `story`'s eligibility next changes with time alone (an embargo lifting, its window closing), or None."""
    moments = []
    if decision.rule == "embargo" and story.republish_from:
        moments.append(story.republish_from)
    if decision.eligible:
        window = story.republish_window_days if story.republish_window_days is not None else policy.window_days
        if window and story.republishing != StoryPage.REPUBLISH_ON and story.published_at:
            moments.append(story.published_at + timedelta(days=window))
        if story.expire_at:
            moments.append(story.expire_at)
    later = [moment for moment in moments if moment > now]
    return min(later) if later else None


# ---- What the feeds carry of one story

def tag_uri(host, story):
    """The story's id in the feeds: our host, the year it was first published and its page id."""
    year = (story.first_published_at or story.published_at or timezone.now()).astimezone(UTC).year
    return f"tag:{host},{year}:story/{story.pk}"


def corrections(story, base_url):
    """(date, text) of each correction, oldest first (then in the editors' order), as plain text."""
    found = sorted(story.corrections.all(), key=lambda c: (c.date, c.sort_order if c.sort_order is not None else 0))
    return [(c.date, " ".join(html_to_text(clean_html(expand_db_html(c.text), base_url=base_url)).split()))
            for c in found]


def correction_line(day, text):
    return f"Correction, {date_format(day)}: {text}"


def iso(moment):
    """An aware time as ISO 8601 in UTC with its microseconds: `?since=` compares times exactly."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else ""


def language():
    return to_locale(settings.LANGUAGE_CODE).replace("_", "-")


def schema_org(story, content):
    """The schema.org NewsArticle a partner's copy may carry: based on our story, under our licence, credited
    to whoever holds the rights (our outlet, or the agency for a wire story)."""
    holder = {"@type": "NewsMediaOrganization", "name": content["holder"]}
    if content["holder_url"]:
        holder["url"] = content["holder_url"]
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": story.title[:110],
        "description": story.dek or None,
        "isBasedOn": content["canonical_url"],
        "datePublished": iso(story.first_published_at) or None,
        "dateModified": iso(version_created(story)) or None,
        "inLanguage": language(),
        "author": [{"@type": "Person", "name": name} for name in content["authors"]] or None,
        "license": content["license_url"] or None,
        "sourceOrganization": holder,
        "copyrightHolder": holder,
        "copyrightYear": content["year"],
        "correction": [
            {"@type": "CorrectionComment", "datePublished": day.isoformat(), "text": text}
            for day, text in content["corrections"]
        ] or None,
    }
    return {key: value for key, value in data.items() if value is not None}


def usage_terms(content):
    if content["license_name"]:
        terms = f"Free to republish under {content['license_name']} ({content['license_url']})."
    else:
        terms = "Free to republish, following our guidelines."
    return (f"{terms} Keep the byline, the credit lines naming {content['holder']} and linking the original, and "
            f"the tracking image. Guidelines: {content['guidelines_url']}")


def story_content(story, policy, request, site, newsroom):
    """Everything the feeds carry of `story` that is the same for every partner (its pixel is the placeholder's):
    what its fingerprint is made of."""
    handout = build_handout(story, policy, request, via=PLACEHOLDER_VIA)
    base_url = site.root_url.rstrip("/") + "/"
    own = story.is_own
    holder = newsroom.outlet_name if own else story.origin.name
    year = timezone.localtime(story.published_at).year if story.published_at else None
    content = {
        "story_id": story.pk,
        "title": story.title,
        "dek": story.dek,
        "canonical_url": handout.canonical_url,
        "html": handout.html,
        "text": handout.text,
        "head": handout.head,
        "authors": [author.name for author in story.authors],
        "located": story.dateline_place,
        "tags": sorted(tag.name for tag in story.tags.all()),
        "holder": holder,
        "holder_url": base_url if own else (story.origin.url or ""),
        "year": year,
        "license_name": policy.license_name,
        "license_url": policy.license_url,
        "guidelines_url": urljoin(base_url, reverse("republish-page", args=[story.pk])),
        "corrections": corrections(story, base_url),
        "update_note": " ".join((story.update_note or "").split()),
        "first_published": iso(story.first_published_at),
        "version_created": iso(version_created(story)),
        "revision": story.live_revision_id or 0,
    }
    content["copyright"] = f"© {year} {holder}" if year else f"© {holder}"
    content["usage_terms"] = usage_terms(content)
    content["schema_org"] = json.dumps(schema_org(story, content), ensure_ascii=False)
    return content


def fingerprint(content):
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


# ---- Keeping FeedEntry up to date

def refresh(offered, withheld, host, now):
    """Bring FeedEntry up to date with a build: `offered` maps story ids to (story, content, fingerprint) of the
    stories the feeds carry now, `withheld` story ids to the Eligibility of candidates they do not carry.
    Stories offered before and no longer live and public are withdrawn too. Returns the entries of `offered`."""
    entries = {entry.story_id: entry for entry in FeedEntry.objects.filter(story_id__in=list(offered) + list(withheld))}
    new = []
    for story_id, (story, _, print_) in offered.items():
        entry = entries.get(story_id)
        if entry is None:
            new.append(FeedEntry(story_id=story_id, uri=tag_uri(host, story), title=story.title[:255],
                                 first_offered=now, updated=now, fingerprint=print_))
        elif entry.withdrawn_at is not None or entry.fingerprint != print_ or not entry.uri:
            # Only if nobody changed it meanwhile: two processes building at once bump it once.
            unchanged = FeedEntry.objects.filter(pk=entry.pk, fingerprint=entry.fingerprint,
                                                 withdrawn_at=entry.withdrawn_at)
            unchanged.update(
                uri=entry.uri or tag_uri(host, story), title=story.title[:255], fingerprint=print_, updated=now,
                version=F("version") + 1, withdrawn_at=None, note="")
    if new:
        FeedEntry.objects.bulk_create(new, ignore_conflicts=True)
    for story_id, decision in withheld.items():
        entry = entries.get(story_id)
        if entry is not None and entry.withdrawn_at is None:
            withdraw(FeedEntry.objects.filter(pk=entry.pk, withdrawn_at=None), decision.reason, now)
    # Offered stories that are gone: unpublished, expired, deleted or made private, wherever they are.
    gone = FeedEntry.objects.filter(withdrawn_at=None).exclude(
        story_id__in=StoryPage.objects.live().public().values("pk"))
    withdraw(gone, "This story is no longer published.", now)
    return {entry.story_id: entry for entry in FeedEntry.objects.filter(story_id__in=list(offered))}


def withdraw(entries, reason, now):
    entries.update(withdrawn_at=now, updated=now, version=F("version") + 1, note=reason[:300])


# ---- The build every partner's feeds are made of

def feed_token():
    return cache.get_or_set(FEED_TOKEN, lambda: uuid.uuid4().hex, None)


def forget_feeds():
    """Make every process build the feeds again (partners.signals calls it when what they carry changes)."""
    cache.delete(FEED_TOKEN)


def build(request, now=None):
    """Every partner's feeds, the pixel aside, as a dict the cache keeps: `items` newest first, each
    (updated, usable, Atom entry, ninjs item as JSON), the last two as `pieces`; only usable ones have an Atom
    entry."""
    now = now or timezone.now()
    site = (Site.find_for_request(request) if request is not None else None) or Site.objects.get(is_default_site=True)
    newsroom, policy = NewsroomSettings.for_site(site), RepublishingPolicy.for_site(site)
    host = urlsplit(site.root_url).hostname or "localhost"
    offered, withheld, expires = {}, {}, None
    for story in candidates(now):
        decision = may_travel(story, policy, now)
        moment = next_change(story, policy, decision, now)
        expires = moment if expires is None or (moment and moment < expires) else expires
        if not decision:
            withheld[story.pk] = decision
            continue
        try:
            content = story_content(story, policy, request, site, newsroom)
        except Exception:  # one broken story must not take every partner's feed down
            logger.exception("Partners' feeds: story %s could not be built; left out this time", story.pk)
            continue
        offered[story.pk] = (story, content, fingerprint(content))
    entries = refresh(offered, withheld, host, now)

    items = []
    for story_id, (story, content, _) in offered.items():
        entry = entries.get(story_id)
        if entry is not None:
            items.append((entry.updated, True, pieces(atom_entry(entry, content)),
                          pieces(json.dumps(ninjs_item(entry, story, content), ensure_ascii=False))))
    cutoff = now - timedelta(days=FEED_DAYS)
    withdrawn = FeedEntry.objects.filter(withdrawn_at__isnull=False, updated__gte=cutoff).order_by("-updated")
    for entry in withdrawn[:FEED_LIMIT]:
        items.append((entry.updated, False, None, pieces(json.dumps(canceled_item(entry), ensure_ascii=False))))
    items.sort(key=lambda item: item[0], reverse=True)

    seconds = FEED_CACHE_SECONDS if expires is None else min(FEED_CACHE_SECONDS, (expires - now).total_seconds())
    license_name, license_url = policy.license_name, policy.license_url
    return {
        "built": now,
        "expires": time.time() + max(1.0, seconds),
        "outlet": newsroom.outlet_name,
        "host": host,
        "site_url": site.root_url.rstrip("/") + "/",
        "license_url": license_url,
        "rights": (f"Free to republish under {license_name} ({license_url}), as each entry says." if license_name
                   else "Free to republish, following our guidelines, as each entry says."),
        "items": items[:FEED_LIMIT],
    }


_memo = (None, None)  # (token, build): the build this process last read, for as long as the token stands


def _fresh(data):
    return data is not None and data["expires"] > time.time()


def feed_data(request):
    """The current build: this process's copy, the shared cache's, or a new one (which is then shared). While
    another process builds (partners polling at once after a purge), wait for its build rather than make one
    more, up to BUILD_WAIT_SECONDS."""
    global _memo
    token = feed_token()
    memo_token, data = _memo
    if memo_token == token and _fresh(data):
        return data
    key = f"partners:feed:{token}"
    data = cache.get(key)
    if not _fresh(data):
        lock = f"{key}:building"
        locked = cache.add(lock, 1, BUILD_LOCK_SECONDS)
        if not locked:
            deadline = time.monotonic() + BUILD_WAIT_SECONDS
            while not _fresh(data) and time.monotonic() < deadline:
                time.sleep(0.05)
                data = cache.get(key)
        if not _fresh(data):
            try:
                data = build(request)
                cache.set(key, data, max(1, math.ceil(data["expires"] - time.time())))
            finally:
                if locked:
                    cache.delete(lock)
    _memo = (token, data)
    return data


def forget_process_copy():
    """For tests and benchmarks: this process reads the shared cache again."""
    global _memo
    _memo = (None, None)


# ---- One partner's pixel

_PLACEHOLDER_PIXEL = re.compile(r"/pixel/(\d{1,18})/" + PLACEHOLDER_VIA + r"/([0-9a-f]{" + str(pixel.SIGNATURE_LENGTH)
                                + r"})\.gif")


@lru_cache(maxsize=65536)
def _pixel_path(story_id, via):
    return pixel.pixel_path(story_id, via)


def with_partner_pixels(text, partner_id):
    """`text` with each story's placeholder pixel replaced by the same story's pixel of `partner_id` (what
    `build_handout(story, policy, via=partner_via(partner_id))` writes). A look-alike that is not a pixel we
    signed is left alone."""
    return render(pieces(text), pixel.partner_via(partner_id)).decode()


def pieces(text):
    """`text` as UTF-8 cut at each placeholder pixel: (the bytes around them, the story id of each), which
    `render` joins with a partner's pixels without reading the text again."""
    parts, ids, start = [], [], 0
    for match in _PLACEHOLDER_PIXEL.finditer(text):
        story_id = int(match.group(1))
        if match.group(0) == _pixel_path(story_id, PLACEHOLDER_VIA):
            parts.append(text[start:match.start()].encode())
            ids.append(story_id)
            start = match.end()
    parts.append(text[start:].encode())
    return tuple(parts), tuple(ids)


@lru_cache(maxsize=65536)
def _pixel_bytes(story_id, via):
    return _pixel_path(story_id, via).encode()


def render(cut, via):
    parts, ids = cut
    out = [parts[0]]
    for story_id, part in zip(ids, parts[1:], strict=True):
        out += (_pixel_bytes(story_id, via), part)
    return b"".join(out)


# ---- Atom

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value):
    return xml_escape(_NOT_XML.sub("", str(value)))


def _attr(value):
    return quoteattr(_NOT_XML.sub("", str(value)))


def _element(name, value, **attrs):
    attributes = "".join(f" {key}={_attr(val)}" for key, val in attrs.items())
    return f"<{name}{attributes}>{_text(value)}</{name}>"


def _link(rel, href, type_=None):
    kind = f" type={_attr(type_)}" if type_ else ""
    return f"<link rel={_attr(rel)}{kind} href={_attr(href)}/>"


def update_line(note):
    """The editor's note on a substantive update, as a line under the story (corrections.recording)."""
    return f"Update: {note}"


def atom_time(moment):
    return iso(moment)


def atom_entry(entry, content):
    """One story's <entry>. Titles and the summary are text (Atom's default type), the content HTML: the
    handout, its corrections and the schema.org block. What Atom has no place for is in HANDOUT_NS."""
    html = content["html"]
    if content["corrections"]:
        html += "\n" + "\n".join(
            f"<p><em>{escape(correction_line(day, text))}</em></p>" for day, text in content["corrections"])
    if content.get("update_note"):
        html += f"\n<p><em>{escape(update_line(content['update_note']))}</em></p>"
    html += f'\n<script type="application/ld+json">{json_ld(json.loads(content["schema_org"]))}</script>'
    parts = [
        "<entry>",
        _element("title", content["title"]),
        _link("alternate", content["canonical_url"], "text/html"),
    ]
    if content["license_url"]:
        parts.append(_link("license", content["license_url"]))
    parts += [
        _element("id", entry.uri),
        _element("published", content["first_published"] or atom_time(entry.first_offered)),
        _element("updated", atom_time(entry.updated)),
        *(f"<author>{_element('name', name)}</author>" for name in content["authors"]),
        _element("rights", f"{content['copyright']}. {content['usage_terms']}"),
    ]
    if content["dek"]:
        parts.append(_element("summary", content["dek"]))
    parts += [f"<category term={_attr(tag)}/>" for tag in content["tags"]]
    parts += [
        _element("content", html, type="html"),
        _element("handout:text", content["text"]),
        _element("handout:credit", content["holder"]),
    ]
    if content["head"]:
        parts.append(_element("handout:head", content["head"]))
    parts += [_element("handout:correction", correction_line(day, text), date=day.isoformat())
              for day, text in content["corrections"]]
    if content.get("update_note"):
        parts.append(_element("handout:update", content["update_note"]))
    parts.append("</entry>\n")
    return "".join(parts)


def atom_feed(data, partner):
    """The Atom document for `partner`, as bytes. It names no address of its own: that address holds the key."""
    usable = [item for item in data["items"] if item[1]]
    updated = usable[0][0] if usable else data["built"]
    created = partner.created_at.astimezone(UTC).year
    head = [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:handout={_attr(HANDOUT_NS)} xml:lang={_attr(language())}>',
        _element("title", f"{data['outlet']}: stories to republish"),
        _element("subtitle", f"Stories {data['outlet']} offers {partner.name} for republishing, ready to paste."),
        _link("alternate", data["site_url"], "text/html"),
    ]
    if data["license_url"]:
        head.append(_link("license", data["license_url"]))
    head += [
        _element("id", f"tag:{data['host']},{created}:partner/{partner.pk}/atom"),
        _element("updated", atom_time(updated)),
        f"<author>{_element('name', data['outlet'])}{_element('uri', data['site_url'])}</author>",
        _element("rights", data["rights"]),
        _element("generator", "Byline"),
        "\n",
    ]
    via = pixel.partner_via(partner.pk)
    return b"".join([
        "".join(head).encode(), *(render(item[2], via) for item in usable), b"</feed>\n"])


# ---- ninjs

def ninjs_item(entry, story, content):
    bodies = [
        {"role": "main", "contenttype": "text/html", "value": content["html"]},
        {"role": "main", "contenttype": "text/plain", "value": content["text"]},
        {"role": "head", "contenttype": "text/html", "value": content["head"]},
        {"role": "schema.org", "contenttype": "application/ld+json", "value": content["schema_org"]},
    ]
    item = {
        "standard": STANDARD,
        "uri": entry.uri,
        "type": "text",
        "representationtype": "full",
        "version": str(entry.version),
        "firstcreated": timestamp(story.first_published_at),
        "versioncreated": iso(entry.updated),
        "pubstatus": "usable",
        "language": language(),
        "headlines": [{"role": "main", "value": content["title"]}],
        "descriptions": ([{"role": "summary", "value": content["dek"]}] if content["dek"] else []) + [
            {"role": "correction", "contenttype": "text/plain", "value": correction_line(day, text)}
            for day, text in content["corrections"]
        ] + ([{"role": "update", "contenttype": "text/plain", "value": update_line(content["update_note"])}]
             if content.get("update_note") else []),
        "bodies": [body for body in bodies if body["value"]],
        "by": names(content["authors"]),
        "people": [{"name": name, "rel": "author"} for name in content["authors"]],
        "located": content["located"],
        "copyrightholder": content["holder"],
        "copyrightnotice": content["copyright"],
        "usageterms": content["usage_terms"],
        "rightsinfo": {"linkedrights": content["license_url"] or content["guidelines_url"]},
        "subjects": [{"name": tag} for tag in content["tags"]],
    }
    return without_empty(item)


def canceled_item(entry):
    """A story the feeds offered and no longer do: its id, when it was withdrawn and why."""
    return without_empty({
        "standard": STANDARD,
        "uri": entry.uri,
        "type": "text",
        "version": str(entry.version),
        "versioncreated": iso(entry.updated),
        "pubstatus": "canceled",
        "headlines": [{"role": "main", "value": entry.title}],
        "usageterms": "No longer offered for republishing. " + entry.note,
        "ednote": f"Withdrawn from partners' feeds on {iso(entry.withdrawn_at)}. {entry.note}".strip(),
    })


def parse_since(value):
    """The aware time in `?since=`, or None when absent; ValueError when it is not an ISO 8601 date and time.
    A "+" left unencoded in the query string arrives as a space: it is read as the "+" it was."""
    if value is None or value == "":
        return None
    moment = parse_datetime(value.strip().replace(" ", "+"))
    if moment is None:
        raise ValueError(f"since must be an ISO 8601 date and time, e.g. 2026-12-01T09:30:00Z (got {value[:40]!r})")
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def ninjs_feed(data, partner, since=None):
    """The JSON list for `partner` as bytes, newest first: items whose `versioncreated` is later than `since`,
    if given."""
    via = pixel.partner_via(partner.pk)
    chosen = [render(item[3], via) for item in data["items"] if since is None or item[0] > since]
    return b"[" + b",\n".join(chosen) + b"]\n"


# ---- Rate limit and fetch counts

def rate_per_minute():
    return getattr(settings, "PARTNER_FEED_REQUESTS_PER_MINUTE", RATE_PER_MINUTE)


def throttle(partner, bucket="feed", now=None):
    """0 if `partner` may make this request, else the seconds until it may: `rate_per_minute()` requests in
    each clock minute per bucket, counted in the shared cache (so across processes)."""
    now = time.time() if now is None else now
    minute = int(now // 60)
    key = f"partners:rate:{bucket}:{partner.pk}:{minute}"
    cache.add(key, 0, 120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, 120)
        count = 1
    if count <= rate_per_minute():
        return 0
    return max(1, math.ceil((minute + 1) * 60 - now))


def record_fetch(partner, now=None):
    """Count one feed request: kept in the shared cache and written to the partner at most once a minute."""
    now = now or timezone.now()
    pending = f"partners:fetches:{partner.pk}"
    cache.add(pending, 0, None)
    try:
        cache.incr(pending)
    except ValueError:
        cache.set(pending, 1, None)
    if not cache.add(f"partners:fetch-written:{partner.pk}", 1, FETCH_WRITE_SECONDS):
        return
    count = cache.get(pending) or 0
    if count:
        try:
            cache.decr(pending, count)
        except ValueError:
            pass
    Partner.objects.filter(pk=partner.pk).update(last_feed_fetch=now, feed_fetches=F("feed_fetches") + count)


# ---- A partner's own page

def partner_page(partner, params, now=None):
    """What the partner's page shows: its copies, with views and readers over the period in `params` (from/to,
    whole UTC days; the last 30 days by default), and the same per story."""
    period = period_from(params, now)
    report = copies_report(partner.copies(), period.since, period.until)
    pages = StoryPage.objects.in_bulk({row["story_id"] for row in report["copies"]})
    unknown = Copy.partner_page(partner.pk)
    for row in report["copies"]:
        row["address"] = ("A page of yours whose address readers' browsers did not send" if row["copy"].url == unknown
                          else row["url"])
        page = pages.get(row["story_id"])
        row["story_url"] = (page.get_full_url() or "") if page is not None else ""
    for story in report["stories"]:
        page = pages.get(story["story_id"])
        story["url"] = (page.get_full_url() or "") if page is not None else ""
    return {"partner": partner, "period": period, **report}


CSV_HEADER = ["Copy (address)", "Story ID", "Story title", "Story URL", "First seen (UTC)", "Last seen (UTC)",
              "Views", "Readers", "From (UTC day)", "To (UTC day)"]


def _utc(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else ""


def copies_rows(page):
    """The page's copies as CSV rows (after CSV_HEADER), every text cell safe from spreadsheet formulas."""
    start, end = page["period"].start.isoformat(), page["period"].end.isoformat()
    return [[neutralise(cell) for cell in (
        row["address"], row["story_id"], row["title"], row["story_url"], _utc(row["first_seen"]),
        _utc(row["last_seen"]), row["views"], row["readers"], start, end)]
        for row in page["copies"]]

