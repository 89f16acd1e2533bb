"""ninjs 3.x as the parser reads it: every property of the 3.0 and 3.1 schemas is either read or deliberately
ignored (wire/ninjs.py's DELIBERATELY_IGNORED says why), so a property a schema renames or adds cannot be
missed in silence, as `embargoed` was when 3.x renamed it `embargoedUntil`."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from stories.models import StoryPage
from wire import ninjs
from wire.importer import Options, import_raw

from .conftest import SCHEMAS

VERSIONS = ["3.0", "3.1"]


def load_schema(version):
    return json.loads((SCHEMAS / f"ninjs-schema_{version}.json").read_text())


def resolve(schema, root):
    while "$ref" in schema and schema["$ref"].startswith("#"):
        target = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            if part:
                target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def properties(schema, root):
    """Each property an object schema allows, with its own schema (refs and combinators followed)."""
    schema = resolve(schema, root)
    found = dict(schema.get("properties", {}))
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            found.update(properties(part, root))
    return found


def array_items(schema, root):
    schema = resolve(schema, root)
    items = schema.get("items")
    if isinstance(items, dict):
        return items
    for key in ("anyOf", "oneOf"):
        for part in schema.get(key, []):
            if resolve(part, root).get("type") == "array" or "items" in resolve(part, root):
                return array_items(part, root)
    return None


def schema_paths(schema, root, prefix="", in_association=False):
    """Every property path in an item ("renditions/*/href"). An association is an item: its own properties
    (name, rel) are listed under associations/*, and its item properties as the item's own."""
    paths = set()
    for name, sub in properties(schema, root).items():
        path = f"{prefix}{name}"
        if name == "associations" and not prefix:
            paths.add(path)
            if not in_association:
                item_schema = array_items(sub, root)
                for own in properties({k: v for k, v in item_schema.items() if k != "$ref"}, root):
                    paths.add(f"associations/*/{own}")
            continue
        paths.add(path)
        items = array_items(sub, root)
        if items is not None:
            paths |= schema_paths(items, root, f"{path}/*/")
        elif properties(sub, root):
            paths |= schema_paths(sub, root, f"{path}/")
    return paths


def example_value(schema, root, depth=0):
    """A value with every property the schema allows filled in, for the parser to look at."""
    schema = resolve(schema, root)
    props = properties(schema, root)
    if props:
        return {name: example_value(sub, root, depth + 1) for name, sub in props.items()
                if not (name == "associations" and depth > 0)}
    items = array_items(schema, root)
    if items is not None:
        return [example_value(items, root, depth + 1)]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    return {"integer": 1, "number": 1, "boolean": True, "object": {}, "array": []}.get(kind, "x")


class Recording(dict):
    """A decoded object that remembers which of its names the parser looked up, at which path."""

    def __init__(self, data, path, seen):
        super().__init__({key: record(value, f"{path}{key}/", seen) for key, value in data.items()})
        self.path, self.seen = path, seen

    def get(self, key, default=None):
        self.seen.add(f"{self.path}{key}")
        return super().get(key, default)

    def __getitem__(self, key):
        self.seen.add(f"{self.path}{key}")
        return super().__getitem__(key)

    def __contains__(self, key):
        self.seen.add(f"{self.path}{key}")
        return super().__contains__(key)


def record(value, path, seen):
    if isinstance(value, dict):
        return Recording(value, path, seen)
    if isinstance(value, list):
        return [record(item, f"{path}*/", seen) for item in value]
    return value


def looked_up(raw):
    """The lower-cased paths the parser reads in a 3.x item: as a text item with a picture association, and
    as a picture item of its own; with every property, and without each one in turn (a fallback such as
    infoSources is read only when what comes before it is missing)."""
    seen = set()
    for name in [None, *raw]:
        if name != "associations":
            seen |= looked_up_once({key: value for key, value in raw.items() if key != name})
    return seen


def looked_up_once(raw):
    seen = set()
    ninjs.detect_version(Recording(raw, "", seen))
    lowered = ninjs._lower_keys(raw)
    text = Recording(dict(lowered, type="text"), "", seen)
    text["associations"][0]["type"] = "picture"
    item = ninjs.Item(uri="urn:x", type="text", schema_version="3.1")
    ninjs._item_type(text)
    ninjs._read_common(item, text)
    ninjs._read_text(item, text)
    picture = Recording(dict(lowered, type="picture"), "", seen)
    ninjs._item_type(picture)
    ninjs._read_common(item, picture)
    ninjs._read_picture(picture, item)
    # What the parser reads in an association it reads as an item's.
    return {path.removeprefix("associations/*/") if path.count("/") > 2 else path for path in seen} | seen


def accounted_for(path, read):
    parts = path.split("/")
    ignored = {name.lower() for name in ninjs.DELIBERATELY_IGNORED}
    if any("/".join(parts[:n]).lower() in ignored for n in range(1, len(parts) + 1)):
        return True
    item_path = path.removeprefix("associations/*/")
    return path.lower() in read or item_path.lower() in read


@pytest.mark.parametrize("version", VERSIONS)
def test_every_3x_property_is_read_or_deliberately_ignored(version):
    root = load_schema(version)
    paths = schema_paths(root, root)
    assert {"embargoedUntil", "renditions/*/href", "associations/*/name", "headlines/*/value"} <= paths
    read = looked_up(example_value(root, root))
    missed = sorted(path for path in paths if not accounted_for(path, read))
    assert missed == [], f"read these in wire/ninjs.py, or add them to DELIBERATELY_IGNORED with a reason: {missed}"


def test_every_deliberately_ignored_property_exists_in_a_3x_schema():
    known = set()
    for version in VERSIONS:
        root = load_schema(version)
        known |= {path.lower() for path in schema_paths(root, root)}
    stale = [name for name in ninjs.DELIBERATELY_IGNORED if name.lower() not in known]
    assert stale == [], f"not in the 3.0 or 3.1 schema: {stale}"


def test_every_ignored_reason_is_written_down():
    assert all(reason.strip() for reason in ninjs.DELIBERATELY_IGNORED.values())


def item_3x(**fields):
    raw = {
        "standard": {"name": "ninjs", "version": "3.1", "schema": "http://www.iptc.org/std/ninjs/ninjs-schema_3.1.json"},
        "uri": "urn:example:wire:embargo", "type": "text", "version": "1",
        "versionCreated": "2026-11-20T10:00:00Z", "copyrightHolder": "Harbor Wire", "pubStatus": "usable",
        "headlines": [{"role": "main", "value": "Budget figures under embargo"}],
        "bodies": [{"role": "main", "contentType": "text/html", "value": "<p>The figures.</p>"}],
    }
    raw.update(fields)
    return raw


@pytest.mark.django_db
def test_an_embargoed_3x_item_is_scheduled_not_published(news):
    embargo = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    raw = item_3x(embargoedUntil=embargo.isoformat().replace("+00:00", "Z"))
    assert ninjs.validation_errors(raw, "3.1") == []
    result = import_raw(raw, Options(publish=True))
    assert result.status == "created", result.reason
    story = StoryPage.objects.get(pk=result.id)
    assert not story.live
    assert story.go_live_at == embargo
    assert "embargoed until" in result.reason and "scheduled" in result.reason


@pytest.mark.parametrize("version", VERSIONS)
def test_the_embargo_is_read_under_its_3x_name(version):
    raw = item_3x(embargoedUntil="2030-01-02T03:04:05Z")
    raw["standard"]["version"] = version
    raw["standard"]["schema"] = f"http://www.iptc.org/std/ninjs/ninjs-schema_{version}.json"
    item = ninjs.parse_item(raw)
    assert item.embargoed is not None and item.embargoed.isoformat() == "2030-01-02T03:04:05+00:00"
