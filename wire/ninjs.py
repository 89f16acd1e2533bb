"""Reading IPTC ninjs: which version a document is, whether it is valid, and what it says.

Nothing here touches the database. `read_document` turns bytes into items (one object or a list); each
item is checked by `parse_item`, which detects its version (1.x, 2.x or 3.x), validates it against that
version's IPTC schema (kept in wire/schemas/, so the product needs nothing from outside at run time) and
returns an `Item`: one shape for every version, with what the importer needs and nothing else.
The mapping is written down in docs/ninjs.md.
"""

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from byline.sanitize import clean_text

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
# The schema each version is checked against: the newest of its major version that we keep, unless the
# document names an older one it was written for.
SCHEMAS = {
    "1.4": "1.4", "1.5": "1.6", "1.6": "1.6", "2.0": "2.1", "2.1": "2.1", "2.2": "2.2", "3.0": "3.0", "3.1": "3.1",
}
LATEST = {"1": "1.6", "2": "2.2", "3": "3.1"}

TEXT_TYPES = {"text", "composite"}
PICTURE_TYPES = {"picture", "graphic"}
SKIPPED_TYPES = {
    "audio": "audio items are not imported (Byline publishes text and pictures)",
    "video": "video items are not imported (Byline publishes text and pictures)",
    "event": "event items are not imported (they announce events, not stories)",
    "planning": "planning items are not imported (they plan coverage, not stories)",
    "component": "component items are not imported on their own",
}
HTML_TYPES = {"text/html", "application/xhtml+xml", "application/xhtml", "text/xhtml"}
MAX_ITEMS = 10_000


class NinjsError(Exception):
    """Why an item (or a whole document) cannot be imported, in words an editor can act on."""


# Names that exist only in one major version: enough to tell a document's version without it saying.
_V3_NAMES = {
    "versionCreated", "firstCreated", "contentCreated", "pubStatus", "copyrightHolder", "copyrightNotice",
    "usageTerms", "edNote", "infoSources", "altIds", "representationType", "rightsInfo", "trustIndicators",
    "digitalSourceType", "eventDetails",
}
_V2_NAMES = {"headlines", "bodies", "descriptions", "people", "places", "subjects", "organisations", "infosources",
             "altids", "rightsinfo", "by", "genres", "events", "objects", "trustindicators"}
_V1_NAMES = {"headline", "body_text", "body_html", "body_xhtml", "byline", "description_text", "description_html",
             "description_xhtml", "subject", "person", "place", "organisation", "object", "mimetype"}


def read_document(data):
    """The items in a ninjs document (bytes or text): one object, or a list of them."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise NinjsError(f"not UTF-8 text (byte {error.start})") from error
    try:
        document = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError as error:
        raise NinjsError("invalid JSON: nested too deeply") from error
    except ValueError as error:
        raise NinjsError(f"invalid JSON: {error}") from error
    items = document if isinstance(document, list) else [document]
    if not items:
        raise NinjsError("the document holds an empty list: no items")
    if len(items) > MAX_ITEMS:
        raise NinjsError(f"the document holds {len(items)} items, more than the {MAX_ITEMS} read at once")
    return items


def _refuse_constant(name):
    raise ValueError(f"{name} is not valid JSON")


def detect_version(raw):
    """'1.6', '2.2', '3.1'...: the schema version a ninjs object is checked against."""
    standard = raw.get("standard") or raw.get("$standard")
    if isinstance(standard, dict) and isinstance(standard.get("version"), str):
        match = re.match(r"^\s*(\d+)(?:\.(\d+))?", standard["version"])
        if match:
            named = f"{match.group(1)}.{match.group(2) or 0}"
            if named in SCHEMAS:
                return SCHEMAS[named]
            if match.group(1) in LATEST:
                return LATEST[match.group(1)]
    keys = set(raw)
    if keys & _V3_NAMES or _has_camel_case_key(raw):
        return LATEST["3"]
    if keys & _V1_NAMES or isinstance(raw.get("associations"), dict) or isinstance(raw.get("renditions"), dict):
        return LATEST["1"]
    return LATEST["2"]


def _has_camel_case_key(value, depth=0):
    """3.x names are camelCase at every level (a rendition's contentType, a body's charCount)."""
    if depth > 8:
        return False
    if isinstance(value, dict):
        return any(
            (isinstance(key, str) and re.search(r"[a-z][A-Z]", key)) or _has_camel_case_key(item, depth + 1)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_has_camel_case_key(item, depth + 1) for item in value[:50])
    return False


@cache
def validator(version):
    schema = json.loads((SCHEMA_DIR / f"ninjs-schema_{version}.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    # The schemas point at GeoJSON's schema on the web for place geometry. We never fetch at run time:
    # any outside reference is accepted as it stands (geometry is not checked; we do not use it).
    registry = Registry(retrieve=lambda uri: DRAFT202012.create_resource({}))
    return cls(schema, registry=registry, format_checker=None)


def validation_errors(raw, version, limit=5):
    """Readable schema errors, the most useful first: 'headlines/0: 3 is not of type string'."""
    errors = sorted(validator(version).iter_errors(raw), key=lambda e: (len(e.absolute_path), str(e.message)))
    messages = []
    for error in errors[:limit]:
        where = "/".join(str(part) for part in error.absolute_path) or "item"
        message = error.message if len(error.message) < 300 else error.message[:300] + "…"
        messages.append(f"{where}: {message}")
    if len(errors) > limit:
        messages.append(f"and {len(errors) - limit} more")
    return messages


def _lower_keys(value, depth=0):
    """ninjs 3.x renamed properties to camelCase; lower-casing every key gives the 2.x names back."""
    if depth > 64:
        raise NinjsError("nested too deeply")
    if isinstance(value, dict):
        return {
            key.lower() if isinstance(key, str) else key: _lower_keys(item, depth + 1) for key, item in value.items()
        }
    if isinstance(value, list):
        return [_lower_keys(item, depth + 1) for item in value]
    return value


# ninjs 3.x properties the parser does not read, on purpose: paths within an item as the 3.x schemas spell
# them ("*" for each entry of an array), each covering everything beneath it. An association is an item, so
# the same paths apply inside one. Every other 3.0/3.1 property is read (wire/tests/test_ninjs3.py walks the
# schemas): a property a new schema version adds fails that test until it is read or listed here.
DELIBERATELY_IGNORED = {
    # Identity and the document's bookkeeping: we identify an item by its uri and version only.
    "altIds": "other systems' identifiers: the uri is the item's identity",
    "profile": "the agency's own template name",
    "representationType": "full or partial: a partial item is imported as what it holds",
    "standard/name": "always ninjs; the version is what detect_version reads",
    "standard/schema": "the version names the schema we check against, kept in wire/schemas/",
    "associations/*/rel": "a picture is a picture whatever it illustrates; name and type say what we need",
    # Rights and notes for the desk, not for readers: editors see the agency's item before publishing.
    "copyrightNotice": "the credit line comes from copyrightHolder, by and infoSources",
    "usageTerms": "wire copy is never offered for republishing (its origin may not be republished)",
    "rightsInfo": "as usageTerms",
    "edNote": "an editor's note to the desk, never printed",
    "expires": "a story we published stays published; taking it down is an editor's decision",
    "urgency": "the desk's priority, not the reader's",
    "slugline": "the agency's internal name for the story",
    "title": "the agency's internal title; the headline is headlines",
    "trustIndicators": "not shown by Byline",
    "digitalSourceType": "not shown by Byline (how a picture was made)",
    "language": "Byline publishes one language per site",
    "genres": "Byline has no genres; subjects become tags",
    # Metadata a wire story does not need: tags come from subjects only.
    "objects": "concepts other than subjects",
    "organisations": "named organisations (3.x renamed symbols/ticker to symbol): not tags",
    "places": "named places: the dateline comes from located",
    "events": "related events: not tags",
    "infoSources/*/uri": "the source's name is what the credit needs",
    "infoSources/*/contactInfo": "addresses and phone numbers are for the desk, never printed",
    "people/*/contactInfo": "addresses and phone numbers are for the desk, never printed",
    "subjects/*/confidence": "a subject the agency sends becomes a tag, however sure its tagger was",
    "subjects/*/relevance": "as subjects/*/confidence",
    "subjects/*/creator": "as subjects/*/confidence",
    "infoSources/*/literal": "as infoSources/*/uri",
    "people/*/uri": "an author is found by name",
    "people/*/literal": "as people/*/uri",
    "subjects/*/uri": "a tag is a name",
    "subjects/*/rel": "every subject becomes a tag, whatever its relation",
    "subjects/*/literal": "as subjects/*/uri",
    # Event and planning items are skipped whole (SKIPPED_TYPES); only their presence is read.
    "eventDetails": "event items are not imported",
    "plannedCoverage": "planning items are not imported",
    # Text properties that describe rather than hold the words: every value goes through clean_text or the
    # sanitizer, so whether it is marked as HTML or text changes nothing about what is kept.
    "headlines/*/contentType": "headlines are read as text whatever their type",
    "descriptions/*/contentType": "descriptions are read as text whatever their type",
    "bodies/*/charCount": "counted again from what we keep",
    "bodies/*/wordCount": "counted again from what we keep",
    # Renditions: we pick a picture by type and size; what describes video, audio or cropping is not used.
    "renditions/*/title": "a rendition's title is not shown",
    "renditions/*/duration": "audio and video are not imported",
    "renditions/*/format": "the content type says what we need",
    "renditions/*/bitrate": "audio and video are not imported",
    "renditions/*/frameRate": "audio and video are not imported",
    "renditions/*/videoCodec": "audio and video are not imported",
    "renditions/*/scanType": "audio and video are not imported",
    "renditions/*/transportProtocol": "pictures are fetched over HTTP(S) only",
    "renditions/*/aspectRatio": "width and height say it",
    "renditions/*/poi": "Byline's editors set a focal point themselves",
}


@dataclass
class Picture:
    uri: str
    headline: str = ""
    caption: str = ""
    credit: str = ""
    source: str = ""
    renditions: list = field(default_factory=list)  # dicts: href, contenttype, width, height, sizeinbytes, name


@dataclass
class Item:
    """A ninjs item in one shape for every version."""

    uri: str
    type: str
    schema_version: str
    version: str = ""
    version_created: datetime | None = None
    first_created: datetime | None = None
    embargoed: datetime | None = None
    pubstatus: str = "usable"
    headline: str = ""
    dek: str = ""
    body_html: str = ""
    body_text: str = ""
    byline: str = ""
    author_names: list = field(default_factory=list)
    located: str = ""
    origin_name: str = ""
    subjects: list = field(default_factory=list)
    pictures: list = field(default_factory=list)
    ignored: list = field(default_factory=list)  # associations we do not import, said in the result
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def skip_reason(self):
        return SKIPPED_TYPES.get(self.type, "") if self.type not in TEXT_TYPES | PICTURE_TYPES else ""

    @property
    def is_text(self):
        return self.type in TEXT_TYPES

    @property
    def version_number(self):
        """The agency's version as a number when it is one ('2', '2.1'), else None."""
        try:
            return float(self.version) if self.version else None
        except ValueError:
            return None


def parse_item(raw):
    """An `Item` from one decoded ninjs object, or NinjsError saying why not."""
    try:
        return _parse_item(raw)
    except RecursionError:
        raise NinjsError("nested too deeply to read") from None


def _parse_item(raw):
    if not isinstance(raw, dict):
        raise NinjsError(f"not a ninjs item: a JSON {type(raw).__name__}, not an object")
    try:
        json.dumps(raw, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        # JSON may escape half of a surrogate pair ("\\ud800"), which is no character at all.
        raise NinjsError(f"the item holds text that is not Unicode ({error.object[error.start:error.end]!a})") from None
    except (TypeError, ValueError) as error:
        raise NinjsError(f"not a ninjs item: {error}") from None
    uri = raw.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        raise NinjsError("not a ninjs item: no uri")
    if len(uri) > 500:
        raise NinjsError("the uri is longer than 500 characters")
    if "\x00" in uri:  # JSON may write "\u0000"; PostgreSQL's text holds none, and the uri is looked up as given
        raise NinjsError("the uri holds a NUL character")
    schema_version = detect_version(raw)
    data = _lower_keys(raw) if schema_version.startswith("3") else raw
    kind = _item_type(data)
    item = Item(uri=uri.strip(), type=kind, schema_version=schema_version, raw=raw)
    if item.skip_reason:
        return item  # not ours to validate or read further
    errors = validation_errors(raw, schema_version)
    if errors:
        raise NinjsError(f"invalid against the ninjs {schema_version} schema: " + "; ".join(errors))
    _read_common(item, data)
    if item.is_text:
        _read_text(item, data)
        if not item.headline:
            raise NinjsError("a text item without a headline")
    else:
        item.pictures = [_read_picture(data, item)]
    return item


def _item_type(data):
    kind = data.get("type")
    if isinstance(kind, str) and kind:
        return kind.lower()
    if data.get("eventdetails") or data.get("events"):
        return "event"
    # Without a type a ninjs item is text, unless it is a picture's renditions without a headline.
    if _renditions(data) and not any(data.get(key) for key in ("headlines", "headline")):
        return "picture"
    return "text"


def _text(value, limit=None):
    text = clean_text(value) if isinstance(value, str) else ""
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit].rstrip() if limit and len(text) > limit else text


def _date(value):
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    try:
        # In UTC, or not at all: a date that cannot be expressed in UTC (year 1 or 9999 at the edge of
        # the calendar, with an offset) is treated as missing rather than stored wrong.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _by_role(entries, roles):
    """The value of the first entry whose role is one of `roles` (a role may be a URI ending in one)."""
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        role = str(entry.get("role") or "").lower().rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        if role in roles and isinstance(entry.get("value"), str):
            return entry
    return None


def _headline(data):
    if isinstance(data.get("headline"), str):
        return _text(data["headline"], 255)
    headlines = [h for h in data.get("headlines") or [] if isinstance(h, dict) and isinstance(h.get("value"), str)]
    main = _by_role(headlines, {"main"}) or (headlines[0] if headlines else None)
    if main:
        return _text(main["value"], 255)
    return ""


def _descriptions(data):
    """(role, text) pairs from 2.x/3.x descriptions or 1.x description_* fields."""
    pairs = []
    for entry in data.get("descriptions") or []:
        if isinstance(entry, dict) and isinstance(entry.get("value"), str):
            pairs.append((str(entry.get("role") or "").lower(), _text(entry["value"])))
    for key in ("description_text", "description_html", "description_xhtml"):
        if isinstance(data.get(key), str):
            pairs.append(("", _text(data[key])))
    return [(role, text) for role, text in pairs if text]


def _origin_name(data):
    holder = data.get("copyrightholder")
    if isinstance(holder, str) and holder.strip():
        return _text(holder, 120)
    sources = [s for s in data.get("infosources") or [] if isinstance(s, dict) and isinstance(s.get("name"), str)]
    for wanted in ("originator", "provider"):
        for source in sources:
            if wanted in str(source.get("role") or "").lower():
                return _text(source["name"], 120)
    if sources:
        return _text(sources[0]["name"], 120)
    provider = data.get("provider")
    if isinstance(provider, dict):
        provider = provider.get("name")
    return _text(provider, 120) if isinstance(provider, str) else ""


def _read_common(item, data):
    version = data.get("version")
    item.version = str(version)[:40] if isinstance(version, (str, int, float)) and not isinstance(version, bool) else ""
    item.version_created = _date(data.get("versioncreated"))
    item.first_created = _date(data.get("firstcreated")) or _date(data.get("contentcreated"))
    # 3.x renamed embargoed to embargoedUntil: an embargo read under the old name only is an embargo broken.
    item.embargoed = _date(data.get("embargoeduntil")) or _date(data.get("embargoed"))
    status = data.get("pubstatus")
    item.pubstatus = status.lower() if isinstance(status, str) and status else "usable"
    item.headline = _headline(data)
    item.origin_name = _origin_name(data)
    byline = data.get("by") if isinstance(data.get("by"), str) else data.get("byline")
    item.byline = _text(byline, 300) if isinstance(byline, str) else ""


def _read_text(item, data):
    descriptions = _descriptions(data)
    for wanted in ("summary", "teaser", "abstract", "lead", "description", "text", ""):
        dek = next((text for role, text in descriptions if role == wanted), "")
        if dek:
            item.dek = dek if len(dek) <= 300 else dek[:299].rsplit(" ", 1)[0] + "…"
            break
    item.located = _text(data.get("located"), 80)
    item.body_html, item.body_text = _body(data)
    if not item.body_html and not item.body_text:
        # Some agencies send a short item's text as its description only.
        texts = [text for role, text in descriptions if role in ("text", "")]
        if texts:
            item.body_text = max(texts, key=len)
            if item.dek and item.body_text.startswith(item.dek.rstrip("…")):
                item.dek = ""
    item.author_names = _authors(data, item)
    subjects = data.get("subjects") if isinstance(data.get("subjects"), list) else data.get("subject")
    names = []
    for subject in subjects or []:
        name = _text(subject.get("name"), 100) if isinstance(subject, dict) else ""
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    item.subjects = names[:30]
    for name, association in _associations(data):
        kind = str(association.get("type") or "").lower() or ("picture" if _renditions(association) else "")
        if kind in PICTURE_TYPES:
            item.pictures.append(_read_picture(association, item, name))
        else:
            item.ignored.append(f"{kind or 'untyped'} association {name!r} not imported")


def _associations(data):
    associations = data.get("associations")
    if isinstance(associations, dict):  # 1.x: keyed by name
        return [(name, a) for name, a in associations.items() if isinstance(a, dict)]
    if isinstance(associations, list):
        return [(a.get("name") or str(i), a) for i, a in enumerate(associations) if isinstance(a, dict)]
    return []


def _body(data):
    """(html, text): the richest body the item has. HTML is sanitized later, once, by the importer."""
    html = text = ""
    for entry in data.get("bodies") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
            continue
        ctype = str(entry.get("contenttype") or "").split(";")[0].strip().lower()
        role = str(entry.get("role") or "").lower()
        looks_like_html = "html" in role or entry["value"].lstrip().startswith("<")
        if not html and (ctype in HTML_TYPES or (not ctype and looks_like_html)):
            html = entry["value"]
        elif not text and ctype in ("", "text/plain"):
            text = entry["value"]
    for key in ("body_html", "body_xhtml"):
        if not html and isinstance(data.get(key), str):
            html = data[key]
    if not text and isinstance(data.get("body_text"), str):
        text = data["body_text"]
    return html, text


_BYLINE_PREFIX = re.compile(r"^(by|von|av|af|par|por|di|door)\s+", re.IGNORECASE)
_BYLINE_SPLIT = re.compile(r"\s+(?:and|und|og|och|et|y|e|en|&)\s+|;", re.IGNORECASE)
AUTHOR_RELS = {"author", "writer", "creator", "byline", "contributor", "reporter", "correspondent"}


def _authors(data, item):
    """Author names: people with an author role, else the byline, split into names. In a byline a comma
    or a slash starts the author's affiliation ("Jane Roe, AP", "Karl Berg/TT"), which is not a name."""
    names = []
    for person in data.get("people") or data.get("person") or []:
        if not isinstance(person, dict) or not isinstance(person.get("name"), str):
            continue
        rel = str(person.get("rel") or person.get("role") or "").lower().rstrip("/").rsplit("/", 1)[-1]
        if rel in AUTHOR_RELS:
            names.append(_text(person["name"], 120))
    if not names and item.byline:
        for part in _BYLINE_SPLIT.split(_BYLINE_PREFIX.sub("", item.byline)):
            name = _BYLINE_PREFIX.sub("", re.split(r"[,/]", part, maxsplit=1)[0].strip())
            if name and (not item.origin_name or name.lower() != item.origin_name.lower()):
                names.append(name[:120])
    unique = []
    for name in names:
        if name and name.lower() not in {n.lower() for n in unique}:
            unique.append(name)
    return unique[:10]


def _renditions(data):
    renditions = data.get("renditions")
    if isinstance(renditions, dict):  # 1.x: keyed by name
        renditions = [dict(r, name=name) for name, r in renditions.items() if isinstance(r, dict)]
    result = []
    for rendition in renditions or []:
        if not isinstance(rendition, dict) or not isinstance(rendition.get("href"), str):
            continue
        result.append({
            "name": str(rendition.get("name") or ""),
            "href": rendition["href"].strip(),
            "contenttype": str(rendition.get("contenttype") or rendition.get("mimetype") or "").lower(),
            "width": _number(rendition.get("width")),
            "height": _number(rendition.get("height")),
            "sizeinbytes": _number(rendition.get("sizeinbytes")),
        })
    return result


def _number(value):
    """A non-negative whole number from a JSON number (1e400 reads as infinity in Python: not a size)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return min(int(value), 2**62)


def _read_picture(data, parent, name="picture"):
    descriptions = _descriptions(data)
    caption = next((text for role, text in descriptions if role in ("caption", "text", "summary", "")), "")
    creditline = next((text for role, text in descriptions if role == "creditline"), "")
    by = data.get("by") if isinstance(data.get("by"), str) else data.get("byline")
    holder = data.get("copyrightholder") if isinstance(data.get("copyrightholder"), str) else ""
    # An association without a credit of its own is credited like the item it came with.
    credit = _text(creditline or holder or by or parent.origin_name or "", 255)
    return Picture(
        uri=_text(data.get("uri"), 500) or f"{parent.uri}#{name}"[:500],
        headline=_headline(data),
        caption=caption[:2000],
        credit=credit,
        source=_text(by, 255) if isinstance(by, str) else "",
        renditions=_renditions(data),
    )
