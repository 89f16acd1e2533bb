"""Turning ninjs items into stories and images: one item, one transaction, one `Result`.

`import_document` reads a document and imports every item in it; `import_item` does one parsed item. The
rules (identity by agency and uri, versions, publishing, origins, authors, bodies, pictures) are in
docs/ninjs.md.
"""

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from html import escape, unescape

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from lxml import html as lxml_html
from wagtail.models import Site
from wagtail.rich_text import RichText

from byline.sanitize import clean_html
from stories.models import Author, Origin, SectionPage, StoryAuthor, StoryPage

from . import pictures
from .models import WireItem, WireSettings
from .ninjs import NinjsError, parse_item, read_document

CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED = "created", "updated", "unchanged", "skipped", "failed"
WITHDRAWN = {"canceled", "cancelled", "withheld"}
UNNAMED_ORIGIN = "Unnamed wire service"
BLOCK_TAGS = {"p", "ul", "ol", "h2", "h3", "h4", "blockquote"}
# "GROSSETO, Italy (AP) -- ": a dateline the agency wrote into the text. Ours is printed from the
# story's fields, so the agency's is taken out (and used as the place when the item names none).
DATELINE = re.compile(r"^\s*(?P<place>[A-ZÀ-ÖØ-Þ][\w.'’ -]{0,40}(?:,[\w.'’ -]{1,40})?)"  # PORT ALDER, Maine
                      r"\s*\([^()]{1,40}\)\s*(?:--|—|–|-)\s*")  # (AGENCY) --


@dataclass
class Result:
    uri: str
    status: str
    id: int | None = None
    url: str = ""
    reason: str = ""
    kind: str = ""
    agency: str = ""  # whose item it was taken to be: a name, for the command's output and the push answer

    def as_json(self):
        data = asdict(self)
        data.pop("kind")
        return data


@dataclass
class Options:
    publish: bool = False  # publish text items at once (import_ninjs --publish)
    # Whose items these are (a push token's agency, import_ninjs --agency): their identity and their stories'
    # origin, whatever the items name. Without it each item is the agency it names (files, run by staff).
    agency: Origin | None = None
    origin: Origin | None = None  # without an agency: the agency of items that name none (import_ninjs --origin)
    section: SectionPage | None = None
    source: str = ""
    fetch: object = None  # replaces the HTTP fetch of pictures (tests)


def content_hash(raw):
    return hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def import_document(data, options, label=""):
    """Results for every item in a document's bytes; a document that cannot be read gives one failure."""
    try:
        items = read_document(data)
    except NinjsError as error:
        return [Result(uri="", status=FAILED, reason=f"{label + ': ' if label else ''}{error}")]
    return [import_raw(raw, options, f"{label} item {n}" if len(items) > 1 else label)
            for n, raw in enumerate(items, 1)]


def import_raw(raw, options, label=""):
    uri = raw.get("uri") if isinstance(raw, dict) and isinstance(raw.get("uri"), str) else ""
    try:
        item = parse_item(raw)
    except NinjsError as error:
        return Result(uri=uri[:500], status=FAILED, reason=f"{label + ': ' if label else ''}{error}")
    return import_item(item, options)


def import_item(item, options):
    if item.skip_reason:
        return Result(uri=item.uri, status=SKIPPED, reason=item.skip_reason, kind=item.type)
    digest = content_hash(item.raw)
    known = known_item(agency_of(item, options), item.uri)
    decision = _compare(item, digest, known)
    if decision:
        return decision
    if not item.is_text:
        return _import_picture(item, digest, options)
    if item.pubstatus in WITHDRAWN:
        return _withdraw(item, digest, known, options)
    # Pictures are fetched before the transaction: a slow agency server must not hold database locks.
    images, notes = _fetch_pictures(item, options)
    try:
        with transaction.atomic():
            return _save_story(item, digest, images, notes, options)
    except NinjsError as error:
        return Result(uri=item.uri, status=FAILED, reason=str(error))
    except IntegrityError:
        # Another process imported the same uri at the same moment: its version stands, ours is compared again.
        known = known_item(agency_of(item, options), item.uri)
        return _compare(item, digest, known) or Result(
            uri=item.uri, status=FAILED, reason="imported by another process at the same moment; send it again"
        )


def agency_of(item, options, create=False):
    """Whose item this is: the push token's or --agency's, else the origin the item names (or --origin, or the
    unnamed wire service). None when that agency does not exist yet and `create` is false: then nothing of it
    is known either, and it is created with the item, in the item's transaction."""
    if options.agency is not None:
        return options.agency
    return find_origin(item.origin_name, options.origin, create=create)


def known_item(agency, uri, **filters):
    """The item this agency already sent under this uri; another agency's item of the same uri is another item."""
    if agency is None:
        return None
    return WireItem.objects.filter(agency=agency, uri=uri, **filters).select_related("agency", "image").first()


def _compare(item, digest, known):
    """A result when the stored item wins (same content, or newer), else None: go ahead."""
    if known is None:
        return None
    if known.content_hash == digest:
        return _result(item, UNCHANGED, known, "already imported, same content")
    mine, theirs = item.version_number, _number(known.version)
    if mine is not None and theirs is not None and mine != theirs:
        if mine < theirs:
            return _result(item, SKIPPED, known,
                           f"version {item.version} is older than the imported version {known.version}")
    elif item.version_created and known.version_created and item.version_created < known.version_created:
        return _result(item, SKIPPED, known, f"created {item.version_created.isoformat()}, before the imported version "
                                              f"({known.version_created.isoformat()})")
    return None


def _number(text):
    try:
        return float(text) if text else None
    except ValueError:
        return None


def _result(item, status, known, reason=""):
    agency = known.agency.name if known else ""
    if known and known.story_id:
        story = known.story
        return Result(uri=item.uri, status=status, id=story.pk, url=_story_url(story), reason=reason, kind="story",
                      agency=agency)
    if known and known.image_id:
        return Result(uri=item.uri, status=status, id=known.image_id, url=_image_url(known.image_id), reason=reason,
                      kind="image", agency=agency)
    return Result(uri=item.uri, status=status, reason=reason, agency=agency)


def _story_url(story):
    """The reader's address of a live story; a draft's is its edit page, where an editor will find it."""
    parts = story.get_url_parts() if story.live else None
    if parts:
        return _site_url(parts[2])
    return _site_url(reverse("wagtailadmin_pages:edit", args=[story.pk]))


def _image_url(image_id):
    return _site_url(reverse("wagtailimages:edit", args=[image_id]))


def _site_url(path):
    # The Site record's host may be "localhost" (its default) while readers and staff reach the site at its
    # public address, so links are built from that address, whatever the Site or the admin are set to.
    return settings.BYLINE_SITE_URL.rstrip("/") + path


def _record(item, digest, known, *, kind, agency, story=None, image=None, source=""):
    now = timezone.now()
    record = known or WireItem(agency=agency, uri=item.uri, kind=kind, first_imported_at=now)
    record.version = item.version
    record.version_created = item.version_created
    record.pubstatus = item.pubstatus
    record.content_hash = digest
    record.last_imported_at = now
    record.source = source[:200]
    if story is not None:
        record.story = story
    if image is not None:
        record.image = image
    record.save()
    return record


# Pictures ---------------------------------------------------------------------------------------------------

def _fetch_pictures(item, options):
    """Fetched (picture, bytes, extension, url) or a known image for each picture; notes say what failed."""
    found, notes = [], list(item.ignored)
    agency = agency_of(item, options)
    for picture in item.pictures:
        known = known_item(agency, picture.uri, image__isnull=False)
        if known:
            found.append((picture, known.image, None))
            continue
        if not picture.renditions:
            notes.append(f"picture {picture.uri} not imported: it has no renditions")
            continue
        try:
            data, extension, url = pictures.fetch_picture(picture, options.fetch)
        except pictures.PictureError as error:
            notes.append(f"picture {picture.uri} not imported: {error}")
            continue
        found.append((picture, None, (data, extension, url)))
    return found, notes


def _keep_pictures(fetched, options, agency):
    images = []
    for picture, image, download in fetched:
        if image is None:
            image = pictures.save_image(picture, *download)
            WireItem.objects.update_or_create(
                agency=agency, uri=picture.uri,
                defaults={"kind": WireItem.PICTURE, "image": image, "content_hash": content_hash(picture.__dict__),
                          "source": options.source[:200], "last_imported_at": timezone.now()},
            )
        images.append((picture, image))
    return images


def _import_picture(item, digest, options):
    picture = item.pictures[0]
    known = known_item(agency_of(item, options), item.uri)
    if known and known.image:
        # The same picture again with new words: the file stays, its caption and credit follow.
        with transaction.atomic():
            image = known.image
            image.title = (picture.headline or picture.caption or image.title)[:255]
            image.credit, image.source = picture.credit[:255], picture.source[:255]
            image.default_caption = picture.caption
            image.save()
            _record(item, digest, known, kind=WireItem.PICTURE, agency=known.agency, source=options.source)
        return _result(item, UPDATED, known, "caption and credit updated")
    if not picture.renditions:
        return Result(uri=item.uri, status=FAILED, reason="a picture item without renditions", kind="image")
    try:
        data, extension, url = pictures.fetch_picture(picture, options.fetch)
    except pictures.PictureError as error:
        return Result(uri=item.uri, status=FAILED, reason=f"the picture could not be fetched: {error}", kind="image")
    with transaction.atomic():
        agency = known.agency if known else agency_of(item, options, create=True)
        image = pictures.save_image(picture, data, extension, url)
        _record(item, digest, known, kind=WireItem.PICTURE, agency=agency, image=image, source=options.source)
    reason = "" if image.credit else "the agency gave no credit line: add one before the picture is used"
    return Result(uri=item.uri, status=UPDATED if known else CREATED, id=image.pk, url=_image_url(image.pk),
                  reason=reason, kind="image", agency=agency.name)


# Stories ----------------------------------------------------------------------------------------------------

def _withdraw(item, digest, known, options):
    if known is None or known.story is None:
        agency = agency_of(item, options)
        return Result(uri=item.uri, status=SKIPPED, reason=f"pubstatus {item.pubstatus}: nothing of ours to withdraw",
                      agency=agency.name if agency else item.origin_name)
    story = known.story.specific
    with transaction.atomic():
        if story.live:
            story.unpublish(log_action=True)
        _record(item, digest, known, kind=WireItem.TEXT, agency=known.agency, source=options.source)
    return _result(item, UPDATED, known, f"withdrawn by the agency (pubstatus {item.pubstatus}): unpublished")


def find_origin(name, fallback=None, create=True):
    """The Origin named `name` (by name or short name), created as a wire service that may not be
    republished when new (None instead when `create` is false). Without a name: `fallback`, or one shared
    origin for unnamed wire copy."""
    if not name:
        if fallback is not None:
            return fallback
        name = UNNAMED_ORIGIN
    origin = Origin.objects.filter(name__iexact=name).first() or Origin.objects.filter(short_name__iexact=name).first()
    if origin is None and create:
        origin, _ = Origin.objects.get_or_create(
            name=name[:120], defaults={"kind": Origin.WIRE, "may_republish": False, "short_name": name[:40]}
        )
    return origin


def find_authors(names):
    authors = []
    for name in names:
        author = Author.objects.filter(name__iexact=name).order_by("pk").first()
        if author is None:
            author = Author(name=name, slug=_unique_slug(Author, name))
            author.save()
        authors.append(author)
    return authors


def _unique_slug(model, text, **scope):
    base = (slugify(text) or "item")[:70]
    slug, n = base, 1
    while model.objects.filter(slug=slug, **scope).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def body_blocks(item):
    """StreamField blocks from the item's body: sanitized HTML split into paragraph blocks, or plain text
    split into paragraphs. Returns (blocks, place) where place is a dateline found at the start."""
    if item.body_html.strip():
        # Our headline is the page's only h1; an agency's h1 becomes a subheading.
        cleaned = clean_html(re.sub(r"<(/?)h1\b", r"<\1h2", item.body_html, flags=re.IGNORECASE))
        cleaned = re.sub(r"<(/?)strong>", r"<\1b>", re.sub(r"<(/?)em>", r"<\1i>", cleaned))
        chunks = _top_level_blocks(cleaned)
        if chunks and re.fullmatch(r"<h[234]>(.*)</h[234]>", chunks[0]) and _same_words(chunks[0], item.headline):
            chunks = chunks[1:]  # the headline repeated at the top of the body
    else:
        text = item.body_text.replace("\r\n", "\n")
        parts = re.split(r"\n\s*\n", text) if "\n\n" in text else text.split("\n")
        chunks = [f"<p>{escape(part.strip())}</p>" for part in parts if part.strip()]
    place = ""
    if chunks and chunks[0].startswith("<p>"):
        match = DATELINE.match(chunks[0][3:])
        if match:
            place = match.group("place").strip()
            rest = chunks[0][3 + match.end():]
            chunks[0] = f"<p>{rest[:1].upper()}{rest[1:]}" if rest else ""
    return [("paragraph", RichText(chunk)) for chunk in chunks if chunk and chunk != "<p></p>"], place


def _same_words(html, text):
    def words(value):
        return re.findall(r"\w+", unescape(re.sub(r"<[^>]+>", " ", value)).lower())

    return words(html) == words(text)


def _top_level_blocks(cleaned):
    """Each top-level paragraph, list, heading or quote becomes a block; loose text and inline elements
    between them are gathered into paragraphs."""
    if not cleaned.strip():
        return []
    try:
        nodes = lxml_html.fragments_fromstring(cleaned)
    except Exception:  # lxml refuses some fragments (only whitespace, stray entities): keep it as one paragraph
        return [f"<p>{cleaned}</p>"]
    chunks, loose = [], []

    def flush():
        text = "".join(loose).strip()
        if text and re.sub(r"<br\s*/?>", "", text).strip():
            chunks.append(f"<p>{text}</p>")
        loose.clear()

    for node in nodes:
        if isinstance(node, str):
            loose.append(escape(node))
            continue
        markup = lxml_html.tostring(node, encoding="unicode", with_tail=False)
        if node.tag in BLOCK_TAGS:
            flush()
            chunks.append(markup)
        else:
            loose.append(markup)
        if node.tail:
            loose.append(escape(node.tail))
    flush()
    return chunks


def dateline_place(located):
    """'Grossetto, Italy' -> 'GROSSETTO, Italy': the city in capitals, as datelines print it."""
    if not located:
        return ""
    city, sep, rest = located.partition(",")
    return (city.strip().upper() + (sep + rest if sep else ""))[:80]


def wire_section(options, request_site=None):
    if options.section is not None:
        return options.section
    site = request_site or Site.objects.filter(is_default_site=True).first() or Site.objects.first()
    configured = WireSettings.for_site(site).section if site else None
    if configured is not None:
        return configured
    section = SectionPage.objects.order_by("path").first()
    if section is None:
        raise NinjsError(
            "there is no section to put wire stories in: create one (or choose one in Settings → Wire desk)"
        )
    return section


def _should_publish(item, options, site):
    if item.pubstatus != "usable":
        return False
    return options.publish or bool(site and WireSettings.for_site(site).publish_usable)


def _save_story(item, digest, fetched, notes, options):
    # The agency is the story's origin too: a token's items can never claim another origin (say, a partner
    # whose stories may be republished), whatever they name.
    origin = agency = agency_of(item, options, create=True)
    known = WireItem.objects.select_for_update().filter(agency=agency, uri=item.uri).first()
    decision = _compare(item, digest, known)  # again under the lock: another delivery may have won meanwhile
    if decision:
        return decision
    images = _keep_pictures(fetched, options, agency)
    authors = find_authors(item.author_names or [origin.label])
    blocks, found_place = body_blocks(item)
    site = Site.objects.filter(is_default_site=True).first()

    story = known.story.specific if known and known.story_id else None
    if story is not None:
        page = story.get_latest_revision_as_object()
    else:
        section = wire_section(options)
        slug = _unique_slug(StoryPage, item.headline, path__startswith=section.path)
        page = StoryPage(title=item.headline, slug=slug, live=False)
    page.title = item.headline
    page.dek = item.dek
    page.dateline_place = dateline_place(item.located) or found_place[:80]
    page.origin = origin
    page.body = blocks
    lead = images[0] if images else None
    if lead:
        page.lead_image = lead[1]
        page.lead_image_caption = lead[0].caption[:500]
    if item.first_created and not page.first_published_at:
        page.first_published_at = item.first_created
    if item.version_created and item.first_created and item.version_created > item.first_created:
        page.updated_at = item.version_created
    elif story is not None and item.version_created:
        page.updated_at = item.version_created
    if item.embargoed and item.embargoed > timezone.now():
        page.go_live_at = item.embargoed
        notes.append(f"embargoed until {item.embargoed.isoformat()}")
    page.story_authors = [StoryAuthor(author=author, sort_order=n) for n, author in enumerate(authors)]
    page.tags.set([name[:100] for name in item.subjects])

    if story is None:
        section.add_child(instance=page)
    revision = page.save_revision(log_action=True)
    if _should_publish(item, options, site):
        revision.publish(log_action=True)
        page.refresh_from_db()
        if page.go_live_at and not page.live:
            notes.append("scheduled")
        else:
            notes.append("published")
    else:
        notes.append("saved as a draft for an editor" if story is None or not story.live
                     else "saved as a draft revision; the live story is unchanged until an editor publishes it")
    _record(item, digest, known, kind=WireItem.TEXT, agency=agency, story=page, source=options.source)
    status = UPDATED if story is not None else CREATED
    return Result(uri=item.uri, status=status, id=page.pk, url=_story_url(page), reason="; ".join(notes), kind="story",
                  agency=agency.name)
