"""Malformed and hostile wire copy.

The wire desk's promise: bad input gets a clear error and loses nothing. Whatever an agency (or anyone
holding a token, or a broken feed) sends,

* reading and parsing raise `NinjsError` with words an editor can act on, and nothing else: no
  RecursionError, TypeError, OverflowError or UnicodeError escapes;
* importing returns one `Result` per item, never a traceback, and an item that fails leaves nothing
  behind: no StoryPage, no WireItem, no Author or Origin rows half-written (each item is one transaction);
* a document with one good and one bad item imports the good one and names the file and the item in
  the bad one's reason; `import_ninjs` then exits non-zero;
* no markup that can run, restyle or frame reaches a stored story, while ordinary https links survive;
* the push endpoint answers every request with a 4xx it explains, never a 500, and refuses a batch
  with an invalid item whole.
"""

import copy
import json
import re
from contextlib import contextmanager
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html
from taggit.models import Tag
from wagtail.models import Page, Revision

from byline.fetch import Fetched, FetchError
from stories.factories import OriginFactory
from stories.models import Author, Origin, StoryAuthor, StoryPage
from wire.importer import CREATED, FAILED, SKIPPED, UNCHANGED, UPDATED, Options, Result, import_document
from wire.models import AgencyToken, WireItem
from wire.ninjs import NinjsError, parse_item, read_document

from .conftest import EXAMPLES

pytestmark = pytest.mark.django_db

EXAMPLES_DIR = EXAMPLES
PUSH_URL = "/api/wire/ninjs"
STATUSES = {CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED}


def _example_items():
    items = []
    for path in sorted(EXAMPLES_DIR.rglob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8-sig"))
        items.extend(document if isinstance(document, list) else [document])
    return [item for item in items if isinstance(item, dict)]


EXAMPLES = _example_items()

# Hypothesis: reproducible (the same examples on every run, nothing written to the repository) and quick.
FAST = settings(max_examples=250, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
# Examples that write to the database are not shrunk: each shrinking step imports stories, and a failure's
# traceback already says which field broke the import.
NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
WITH_DB = settings(max_examples=40, deadline=None, derandomize=True, database=None, phases=NO_SHRINK,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                          HealthCheck.data_too_large])
OVER_HTTP = settings(max_examples=12, deadline=None, derandomize=True, database=None, phases=NO_SHRINK,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                            HealthCheck.data_too_large])


# What hostile input looks like ------------------------------------------------------------------------------

NINJS_NAMES = sorted({
    "uri", "type", "version", "standard", "$standard", "headline", "headlines", "body_text", "body_html",
    "body_xhtml", "bodies", "byline", "by", "description_text", "descriptions", "subject", "subjects", "person",
    "people", "place", "places", "organisation", "associations", "renditions", "versioncreated",
    "versionCreated", "firstcreated", "firstCreated", "embargoed", "pubstatus", "pubStatus", "copyrightholder",
    "copyrightHolder", "copyrightnotice", "usageterms", "infosources", "infoSources", "provider", "located",
    "language", "mimetype", "contentType", "contenttype", "href", "width", "height", "sizeinbytes", "role",
    "value", "name", "rel", "eventdetails", "events",
})

INF = float("inf")  # what the valid JSON number 1e999 becomes
EDGE_DATES = ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
HOSTILE_STRINGS = [
    "", " ", "\u00a0", "\u2028", "\x00", "\ufeff", "\u202e", "text", "picture", "composite", "usable", "canceled",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)", "java\u00a0script:alert(1)",
    "data:text/html,<script>alert(1)</script>", "<svg onload=alert(1)>", "&lt;script&gt;", "'; DROP TABLE x; --",
    "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2024-02-30T25:61:00Z", "not a date", "1e309",
    "NaN", "-1", "Ω≈ç√∫˜µ≤≥÷", "田中さんにあげて下さい", "👩‍👩‍👧‍👦" * 20, "\u0301" * 50, "A" * 501,
]

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40) | st.sampled_from(HOSTILE_STRINGS)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.sampled_from(NINJS_NAMES) | st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)
# Objects that look enough like ninjs to get past the first checks.
ninjs_shaped = st.dictionaries(st.sampled_from(NINJS_NAMES), json_values, max_size=10).flatmap(
    lambda item: st.fixed_dictionaries(
        {"uri": st.sampled_from(["urn:hostile:1", "urn:hostile:2", " ", "x" * 501]) | json_values},
    ).map(lambda head: {**item, **head})
)


def _nested(value, depth, kind):
    for _ in range(depth):
        value = [value] if kind == "list" else {"associations" if kind == "assoc" else "a": value}
    return value


def _slots(value, limit=400):
    """(container, key) for every place in a JSON value, the item itself excluded."""
    slots, todo = [], [value]
    while todo and len(slots) < limit:
        node = todo.pop()
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in children:
            slots.append((node, key))
            todo.append(child)
    return slots


@st.composite
def mutated_examples(draw):
    """A real agency item, damaged: keys dropped, values of the wrong type, huge strings, deep nesting."""
    item = copy.deepcopy(draw(st.sampled_from(EXAMPLES)))
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(item)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        change = draw(st.sampled_from(["drop", "wrong type", "hostile string", "huge string", "deep nesting",
                                       "edge of time"]))
        if change == "edge of time":
            # A date Python reads but UTC cannot hold, where the item keeps its dates.
            dates = [name for name in item if re.search(r"created|embargoed", name, re.IGNORECASE)]
            if dates:
                item[draw(st.sampled_from(dates))] = draw(st.sampled_from(EDGE_DATES))
        elif change == "drop":
            del container[key]
        elif change == "wrong type":
            container[key] = draw(st.sampled_from([None, True, False, 0, -1, 2**70, 1.5, 1e308, INF, "", "x", [], {},
                                                   [None], {"value": 3}, [[["deep"]]]]))
        elif change == "hostile string":
            container[key] = draw(st.sampled_from(HOSTILE_STRINGS))
        elif change == "huge string":
            container[key] = draw(st.sampled_from(["Headline ", "<p>para</p>", "x", "<b>"])) * 25_000
        else:
            container[key] = _nested(container[key], draw(st.sampled_from([5, 60, 300])),
                                     draw(st.sampled_from(["list", "dict"])))
    return item


def no_network(url):
    raise FetchError("the test network is switched off", url)


def useless_answer(url):
    return Fetched(url=url, final_url=url, status=200, headers={"content-type": "text/html"},
                   body=b"<html>no picture here</html>")


fetchers = st.sampled_from([no_network, useless_answer])


def dumps(value):
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def surrogate_document(where):
    """An item with a lone surrogate escape ("\\ud800": valid JSON, no UTF-8 text can hold it) in one field."""
    fields = {"uri": "urn:byline-test:surrogate", "type": "text", "headline": "Surrogates", "body_text": "Text.",
              "byline": "Jane Roe"}
    document = json.dumps(fields).replace(f'"{where}": "', f'"{where}": "\\ud800', 1).encode()
    assert b"\\ud800" in document
    return document


def text_item(uri="urn:byline-test:good", headline="Council passes the budget", **extra):
    return {"uri": uri, "type": "text", "headlines": [{"role": "main", "value": headline}],
            "bodies": [{"role": "main", "contenttype": "text/plain", "value": "The council voted on Tuesday."}],
            **extra}


# Counting what an import leaves behind ---------------------------------------------------------------------

def rows():
    return {
        "StoryPage": StoryPage.objects.count(),
        "Page": Page.objects.count(),
        "Revision": Revision.objects.count(),
        "WireItem": WireItem.objects.count(),
        "Author": Author.objects.count(),
        "Origin": Origin.objects.count(),
        "StoryAuthor": StoryAuthor.objects.count(),
        "Tag": Tag.objects.count(),
    }


def assert_results_match_rows(results, before, after):
    """Every item answered with a Result; rows appear only for the stories reported as created."""
    assert results and all(isinstance(result, Result) for result in results), results
    assert all(result.status in STATUSES for result in results), results
    for result in results:
        if result.status == FAILED:
            assert result.reason, f"a failure without a reason: {result}"
    created = sum(1 for result in results if result.status == CREATED and result.kind == "story")
    assert after["StoryPage"] - before["StoryPage"] == created, (results, before, after)
    assert after["WireItem"] - before["WireItem"] == created, (results, before, after)
    if not any(result.status in (CREATED, UPDATED) for result in results):
        assert after == before, f"nothing was imported, yet rows changed: {before} -> {after} ({results})"


@contextmanager
def rolled_back():
    """One hypothesis example's writes, undone after it: every example starts from the same database
    (otherwise a uri imported by one example makes the next one 'unchanged', and failures don't replay)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def import_counted(data, **options):
    options.setdefault("fetch", no_network)
    before = rows()
    results = import_document(data, Options(**options), label="hostile.json")
    after = rows()
    assert_results_match_rows(results, before, after)
    return results


# Reading: only NinjsError, whatever arrives -----------------------------------------------------------------

def read_and_parse(data):
    """Read a document and parse each item: anything may fail, but only with a NinjsError that says why."""
    try:
        items = read_document(data)
    except NinjsError as error:
        assert str(error)
        return
    for raw in items:
        try:
            parse_item(raw)
        except NinjsError as error:
            assert str(error)


class TestReadingAnything:
    @FAST
    @given(data=st.binary(max_size=400))
    def test_arbitrary_bytes_are_items_or_a_ninjs_error(self, data):
        read_and_parse(data)

    @FAST
    @given(value=json_values)
    def test_arbitrary_json_values_are_items_or_a_ninjs_error(self, value):
        text = json.dumps(value, ensure_ascii=False)  # NaN and Infinity come out as the bare words JSON forbids
        read_and_parse(text.encode("utf-8"))

    @FAST
    @given(raw=json_values | ninjs_shaped)
    def test_parse_item_refuses_any_value_with_a_ninjs_error(self, raw):
        try:
            item = parse_item(raw)
        except NinjsError as error:
            assert str(error)
            return
        assert item.uri.strip() and len(item.uri) <= 500
        assert len(item.headline) <= 255

    @FAST
    @given(raw=mutated_examples())
    def test_damaged_agency_items_parse_or_give_a_ninjs_error(self, raw):
        try:
            item = parse_item(raw)
        except NinjsError as error:
            assert str(error)
            return
        assert len(item.headline) <= 255 and len(item.dek) <= 300

    def test_every_real_example_reads_without_a_crash(self):
        """IPTC's own examples are all valid ninjs: every one parses (none is refused), keeps its uri and type,
        and reads as what it is: a story with a headline, a picture with renditions, or a kind we skip."""
        from collections import Counter

        from wire.ninjs import PICTURE_TYPES, SCHEMAS, SKIPPED_TYPES, TEXT_TYPES

        assert EXAMPLES, f"no ninjs examples under {EXAMPLES_DIR}"
        kinds = Counter()
        for raw in EXAMPLES:
            where = f"example {raw.get('uri')!r}"
            item = parse_item(raw)  # a NinjsError here is a real example refused: a failure
            assert item.uri == raw["uri"].strip(), where
            assert item.schema_version in SCHEMAS.values(), where
            if isinstance(raw.get("type"), str):
                assert item.type == raw["type"].lower(), where
            assert item.type in TEXT_TYPES | PICTURE_TYPES | set(SKIPPED_TYPES), (where, item.type)
            if item.type in SKIPPED_TYPES:
                assert item.skip_reason == SKIPPED_TYPES[item.type], where
                kinds["skipped"] += 1
            elif item.is_text:
                assert item.skip_reason == "" and 0 < len(item.headline) <= 255, (where, item.headline)
                assert item.headline == item.headline.strip(), where
                kinds["text"] += 1
            else:
                assert item.skip_reason == "" and len(item.pictures) == 1, (where, item.pictures)
                renditions = item.pictures[0].renditions
                assert renditions and all(r["href"] for r in renditions), (where, renditions)
                kinds["picture"] += 1
        # All three kinds are among the examples: an importer that read everything as one kind would fail here.
        assert kinds["text"] and kinds["picture"] and kinds["skipped"], kinds

    @pytest.mark.parametrize("data, words", [
        (b'{"uri": "urn:x", "headline": ', "invalid JSON"),
        (b"", "invalid JSON"),
        (b"\xff\xfe{\x00}\x00", "not UTF-8"),
        (b'{"uri": "urn:x", "headline": NaN}', "NaN"),
        (b'{"uri": "urn:x", "version": Infinity}', "Infinity"),
        (b'{"uri": "urn:x", "version": -Infinity}', "Infinity"),
        (b"[]", "empty list"),
    ])
    def test_unreadable_documents_say_why(self, data, words):
        with pytest.raises(NinjsError, match=words):
            read_document(data)

    @pytest.mark.parametrize("document", [b'"a story"', b"42", b"true", b"null", b"[1, 2]", b"[[]]"])
    def test_a_json_value_that_is_not_an_object_is_not_an_item(self, document):
        for raw in read_document(document):
            with pytest.raises(NinjsError, match="not a ninjs item"):
                parse_item(raw)

    @pytest.mark.parametrize("depth", [1_000, 100_000])
    @pytest.mark.parametrize("opening, closing", [(b"[", b"]"), (b'{"a":', b"}")])
    def test_deeply_nested_json_is_a_clear_error_not_a_recursion_error(self, depth, opening, closing):
        with pytest.raises(NinjsError, match="nested too deeply"):
            read_document(opening * depth + b"1" * (opening == b'{"a":') + closing * depth)

    def test_too_many_items_at_once(self):
        with pytest.raises(NinjsError, match="more than the 10000"):
            read_document(b"[" + b",".join([b"{}"] * 10_001) + b"]")

    @pytest.mark.parametrize("raw, words", [
        ({"uri": "urn:x:\x00", "type": "text", "headline": "A NUL in the uri"}, "NUL character"),
        ({"type": "text", "headline": "No uri"}, "no uri"),
        ({"uri": "", "type": "text", "headline": "Empty uri"}, "no uri"),
        ({"uri": "   ", "type": "text", "headline": "Blank uri"}, "no uri"),
        ({"uri": 42, "type": "text", "headline": "Numeric uri"}, "no uri"),
        ({"uri": ["urn:x"], "type": "text", "headline": "Listed uri"}, "no uri"),
        ({"uri": "urn:" + "x" * 500, "type": "text", "headline": "Long uri"}, "longer than 500"),
        ({"uri": "urn:x", "type": "text", "body_text": "Words without a headline."}, "without a headline"),
        ({"uri": "urn:x", "type": "text", "headlines": [{"value": "   "}]}, "without a headline"),
        ({"uri": "urn:x", "type": "text", "headline": "<script>only code</script>"}, "without a headline"),
        ({"uri": "urn:x", "type": "text", "headline": 5}, "schema"),
        ({"uri": "urn:x", "type": "text", "headlines": "A headline"}, "schema"),
        ({"uri": "urn:x", "type": "text", "headlines": [{"value": "H"}], "bodies": 5}, "schema"),
        ({"uri": "urn:x", "type": "text", "versionCreated": "2024-01-01T00:00:00Z", "Bodies": 5}, "schema"),
    ])
    def test_items_that_cannot_be_stories_say_why(self, raw, words):
        with pytest.raises(NinjsError, match=words):
            parse_item(raw)

    def test_a_100_kb_headline_is_cut_to_fit(self):
        item = parse_item(text_item(headline="Budget " * 15_000))
        assert 0 < len(item.headline) <= 255
        assert item.headline.startswith("Budget Budget")

    def test_a_huge_number_where_a_size_belongs_is_not_a_crash(self):
        """1e999 is valid JSON; Python reads it as infinity (it is not the NaN/Infinity words refused)."""
        data = b'{"uri": "urn:x", "type": "picture", "renditions": {"main": {"href": "https://x.example/a.jpg", ' \
               b'"mimetype": "image/jpeg", "width": 1e999, "height": 1e999}}}'
        [raw] = read_document(data)
        assert raw["renditions"]["main"]["width"] == float("inf")  # what json gives us: the case under test
        item = parse_item(raw)
        assert (item.type, item.uri, item.schema_version) == ("picture", "urn:x", "1.6")
        [picture] = item.pictures
        assert picture.uri == "urn:x"
        # Infinity is not a size: width and height are dropped (None, as if not sent), the rendition kept.
        assert picture.renditions == [{"name": "main", "href": "https://x.example/a.jpg",
                                       "contenttype": "image/jpeg", "width": None, "height": None,
                                       "sizeinbytes": None}]

    @pytest.mark.parametrize("version", ["1.6", "2.2", "3.1"])
    def test_deeply_nested_associations_are_a_clear_error(self, version):
        """Associations may hold associations; an agency (or an attacker) can nest them hundreds deep."""

        def nested(depth):
            raw = {"uri": "urn:deep:leaf", "type": "picture"}
            for n in range(depth):
                if version == "1.6":
                    raw = {"uri": f"urn:deep:{n}", "type": "text", "headline": "Deep", "associations": {"a": raw}}
                elif version == "2.2":
                    raw = {"uri": f"urn:deep:{n}", "type": "text", "headlines": [{"value": "Deep"}],
                           "associations": [dict(raw, name="a")]}
                else:
                    raw = {"uri": f"urn:deep:{n}", "type": "text", "headlines": [{"value": "Deep"}],
                           "versionCreated": "2024-01-01T00:00:00Z", "associations": [dict(raw, name="a")]}
            return raw

        # A few levels are an ordinary item: the outer story is read, its (text) association said to be ignored.
        item = parse_item(nested(5))
        assert (item.uri, item.type, item.schema_version, item.headline) == ("urn:deep:4", "text", version, "Deep")
        assert item.pictures == [] and item.ignored == ["text association 'a' not imported"]
        # 300 levels are refused with a NinjsError that says why (not a RecursionError): 3.x items by the
        # key-lowering's own depth limit, 1.x/2.x ones when schema validation runs out of stack.
        message = "nested too deeply" if version == "3.1" else "nested too deeply to read"
        with pytest.raises(NinjsError) as refused:
            parse_item(nested(300))
        assert str(refused.value) == message

    @pytest.mark.parametrize("where", ["uri", "headline", "body_text", "byline"])
    def test_a_lone_surrogate_escape_is_not_a_crash(self, where):
        """JSON lets an item write "\\ud800", which no UTF-8 text can hold."""
        document = surrogate_document(where)
        [raw] = read_document(document)
        assert raw[where].startswith("\ud800")  # the lone surrogate reached the item: the case under test
        # Refused whole, naming the offending text, whichever field holds it.
        with pytest.raises(NinjsError) as refused:
            parse_item(raw)
        assert str(refused.value) == "the item holds text that is not Unicode ('\\ud800')"
        # The same item without the surrogate is a good one: the refusal is the surrogate's alone.
        item = parse_item(dict(raw, **{where: raw[where].replace("\ud800", "")}))
        assert (item.uri, item.headline, item.body_text, item.byline) == (
            "urn:byline-test:surrogate", "Surrogates", "Text.", "Jane Roe")


# Importing: Results, and nothing half-written --------------------------------------------------------------

class TestImportingAnything:
    @WITH_DB
    @given(value=json_values | ninjs_shaped, fetch=fetchers)
    def test_arbitrary_json_gives_results_and_no_stray_rows(self, news, value, fetch):
        try:
            data = json.dumps(value, ensure_ascii=False).encode("utf-8")
        except ValueError:
            return
        with rolled_back():
            import_counted(data, section=news, fetch=fetch)

    @WITH_DB
    @given(items=st.lists(mutated_examples(), min_size=1, max_size=3), fetch=fetchers, publish=st.booleans())
    def test_damaged_agency_items_give_results_and_no_stray_rows(self, news, items, fetch, publish):
        with rolled_back():
            import_counted(dumps(items if len(items) > 1 else items[0]), section=news, fetch=fetch, publish=publish)

    @WITH_DB
    @given(data=st.binary(max_size=200))
    def test_arbitrary_bytes_give_one_failure_and_no_rows(self, news, data):
        with rolled_back():
            import_counted(data, section=news)

    @pytest.mark.parametrize("data, words", [
        (b"{not json", "invalid JSON"),
        (b'{"uri": "urn:x", "type": "text", "headline": "H", "version": NaN}', "NaN"),
        (b'"just a string"', "not a ninjs item"),
        (b"3.14", "not a ninjs item"),
        (b"[]", "empty list"),
        (b'{"type": "text", "headline": "Without a uri"}', "no uri"),
        (b'{"uri": "urn:x", "type": "text"}', "without a headline"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ])
    def test_hostile_documents_fail_with_a_reason_and_leave_nothing(self, news, data, words):
        [result] = import_counted(data, section=news)
        assert result.status == FAILED
        assert words in result.reason
        assert result.reason.startswith("hostile.json")

    def test_one_good_item_and_one_bad_item(self, news):
        document = dumps([text_item(), {"uri": "urn:byline-test:bad", "type": "text", "body_text": "No headline."}])
        good, bad = import_counted(document, section=news)
        assert good.status == CREATED and StoryPage.objects.filter(title="Council passes the budget").exists()
        assert bad.status == FAILED and bad.uri == "urn:byline-test:bad"
        assert "hostile.json item 2" in bad.reason and "without a headline" in bad.reason
        assert not WireItem.objects.filter(uri="urn:byline-test:bad").exists()

    def test_a_100_kb_headline_is_truncated_and_imported(self, news):
        [result] = import_counted(dumps(text_item(headline="Budget " * 15_000)), section=news)
        assert result.status == CREATED
        story = StoryPage.objects.get(pk=result.id)
        assert 0 < len(story.title) <= 255 and len(story.slug) <= 255

    def test_huge_fields_everywhere_are_cut_not_crashing(self, news):
        huge = "Wörds & <b>more</b> " * 6_000
        raw = text_item(
            uri="urn:byline-test:huge", headline=huge, by=huge, located=huge, copyrightholder=huge,
            descriptions=[{"role": "summary", "value": huge}], subjects=[{"name": huge}, {"name": huge.upper()}],
            people=[{"name": huge, "rel": "author"}],
        )
        [result] = import_counted(dumps(raw), section=news)
        assert result.status == CREATED, result
        story = StoryPage.objects.get(pk=result.id)
        assert len(story.title) <= 255 and len(story.dek) <= 300 and len(story.dateline_place) <= 80

    @pytest.mark.parametrize("date", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
    @pytest.mark.parametrize("field", ["versioncreated", "firstcreated", "embargoed"])
    def test_dates_at_the_edge_of_time_are_not_a_crash(self, news, field, date):
        """Python reads both dates; neither fits in UTC, where the database keeps times."""
        import_counted(dumps(text_item(uri=f"urn:byline-test:{field}", **{field: date})), section=news)

    @pytest.mark.parametrize("where", ["uri", "headline", "body_text", "byline"])
    def test_a_lone_surrogate_escape_is_not_a_crash(self, news, where):
        import_counted(surrogate_document(where), section=news)

    def test_deeply_nested_associations_fail_and_leave_nothing(self, news):
        raw = {"uri": "urn:deep:leaf", "type": "picture"}
        for n in range(300):
            raw = {"uri": f"urn:deep:{n}", "type": "text", "headlines": [{"value": "Deep"}],
                   "associations": [dict(raw, name="a")]}
        [result] = import_counted(dumps(raw), section=news)
        assert result.status == FAILED

    def test_without_a_section_an_item_fails_with_a_reason(self, site):
        [result] = import_counted(dumps(text_item()))
        assert result.status == FAILED and "section" in result.reason

    def test_a_picture_that_cannot_be_fetched_fails_without_rows(self, news):
        raw = {"uri": "urn:byline-test:photo", "type": "picture", "headlines": [{"value": "A photo"}],
               "renditions": [{"name": "main", "href": "https://pictures.example/a.jpg", "contenttype": "image/jpeg"}]}
        for fetch in (no_network, useless_answer):
            [result] = import_counted(dumps(raw), section=news, fetch=fetch)
            assert result.status == FAILED and "pictures.example/a.jpg" in result.reason


# Markup: nothing that runs reaches a story ------------------------------------------------------------------

HOSTILE_BODY = """
<h1>Council passes the budget</h1>
<p>Before the vote <script>alert('script')</script>the chamber filled.</p>
<style>body { display: none }</style>
<p><img src="x" onerror="alert('onerror')">Residents spoke for three hours.</p>
<p onclick="alert('onclick')" style="position:fixed" class="takeover" id="main">Styled paragraph.</p>
<p><a href="javascript:alert('js')">plain javascript</a>
   <a href="JaVaScRiPt:alert('mixed')">mixed case</a>
   <a href="&#106;avascript:alert('entity')">entity</a>
   <a href="java&#x09;script:alert('tab')">tab</a>
   <a href="java\nscript:alert('newline')">newline</a>
   <a href=" \x01javascript:alert('control')">control</a>
   <a href="vbscript:msgbox('vb')">vbscript</a>
   <a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgnZGF0YScpPC9zY3JpcHQ+">data</a></p>
<iframe src="https://evil.example/frame"></iframe>
<svg onload="alert('svg')"><script>alert('svg-script')</script><a href="javascript:alert('svg-link')">x</a></svg>
<math><mtext><table><mglyph><style><img src=x onerror="alert('mxss')"></style></mglyph></table></mtext></math>
<object data="https://evil.example/flash.swf"></object>
<form action="https://evil.example/phish"><input name="password"></form>
<p><a href="https://example.org/report" onmouseover="alert('hover')" target="_blank">the full report</a>
   and <a href="mailto:desk@example.org">the desk</a>.</p>
"""

UNICODE_TRICK_HREFS = ["java\u00a0script:alert('nbsp')", "\u2028javascript:alert('ls')", "javascript\u200b:alert('zw')",
                       "\ufeffjavascript:alert('bom')", "ｊａｖａｓｃｒｉｐｔ:alert('fullwidth')"]

# What only the hostile markup (never the words around it) holds: none of it may be stored.
EXECUTABLE_MARKERS = [
    "<script", "alert('script')", "alert('svg-script')", "alert('svg-link')", "<style", "display: none", "onerror",
    "onclick", "onmouseover", "onload", "<iframe", "<svg", "<math", "<object", "<form", "<input", "evil.example",
    "style=", "class=", 'id="main"', "alert('mxss')", "<img", "alert('js')", "alert('mixed')", "alert('entity')",
    "alert('tab')", "alert('newline')", "alert('control')", "msgbox", "data:text/html",
]


def _hrefs(html):
    return [a.get("href") for a in lxml_html.fragment_fromstring(html, create_parent="div").iter("a")
            if a.get("href") is not None]


RUNNABLE_TAGS = {"script", "style", "iframe", "frame", "object", "embed", "svg", "math", "form", "input", "img",
                 "base", "link", "meta"}


def assert_nothing_runs(html, allowed=()):
    """No element that runs, frames, restyles or loads; no event handler or style attribute; no link a
    browser would follow to a script. Words that merely look like code ("onerror=" as text) are fine."""
    root = lxml_html.fragment_fromstring(html, create_parent="div")
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        tag = element.tag.rsplit("}", 1)[-1].lower()
        assert tag not in RUNNABLE_TAGS - set(allowed), f"<{tag}> reached the story: {html[:2000]}"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"{name}={value!r} on <{tag}>"
            assert name.lower() not in ("style", "class", "id", "srcdoc", "formaction"), f"{name}={value!r} on <{tag}>"
            if name.lower() in ("href", "src", "action", "xlink:href", "data"):
                assert_harmless_link(value)


def assert_harmless_link(href):
    # What a browser does to a URL before it reads the scheme: strip C0 controls and spaces around it,
    # drop tabs and newlines inside it.
    seen = re.sub(r"[\t\n\r]", "", href.strip("".join(chr(c) for c in range(0x21))))
    assert urlsplit(seen).scheme.lower() in ("", "http", "https", "mailto"), href
    assert not re.match(r"\s*(javascript|vbscript|data)\s*:", seen, re.IGNORECASE), href


def hostile_item(uri="urn:byline-test:hostile", **extra):
    tricks = "".join(f'<p><a href="{href}">trick {n}</a></p>' for n, href in enumerate(UNICODE_TRICK_HREFS))
    body = HOSTILE_BODY + tricks
    return {
        "uri": uri, "type": "text", "pubstatus": "usable",
        "headlines": [
            {"role": "main", "value": "Council passes the &lt;script&gt;alert('headline')&lt;/script&gt; budget"},
        ],
        "descriptions": [
            {"role": "summary",
             "value": "<b onmouseover=\"alert('dek')\">Late</b> vote &lt;img src=x onerror=alert('dek2')&gt;"},
        ],
        "by": "<script>alert('byline')</script>Jane Roe",
        "located": "<img src=x onerror=alert('located')>Port Alder",
        "subjects": [{"name": "<script>alert('tag')</script>Budget"}],
        "bodies": [{"role": "main", "contenttype": "text/html", "value": body}],
        **extra,
    }


class TestHostileMarkup:
    def stored_body(self, story):
        return "".join(block.value.source for block in story.body)

    def test_the_stored_body_keeps_words_and_safe_links_only(self, news):
        [result] = import_counted(dumps(hostile_item()), section=news)
        assert result.status == CREATED, result
        story = StoryPage.objects.get(pk=result.id).get_latest_revision_as_object()
        body = self.stored_body(story)
        for marker in EXECUTABLE_MARKERS:
            assert marker.lower() not in body.lower(), f"{marker!r} reached the stored body:\n{body}"
        assert_nothing_runs(body)
        assert 'href="https://example.org/report"' in body
        assert 'href="mailto:desk@example.org"' in body
        assert "Residents spoke for three hours." in body and "the full report" in body
        assert "<h1" not in body  # the page's only h1 is our headline

    def test_the_published_page_shows_no_hostile_markup(self, client, news):
        [result] = import_counted(dumps(hostile_item()), section=news, publish=True)
        assert result.status == CREATED and "published" in result.reason, result
        story = StoryPage.objects.get(pk=result.id)
        assert story.live
        assert "alert" not in story.title.replace("alert('headline')", "") and "<b" not in story.dek
        response = client.get(story.url)
        assert response.status_code == 200
        page = response.content.decode()
        assert "the full report" in page and 'href="https://example.org/report"' in page
        for marker in ["<script>alert(", "alert('script')", "alert('svg-script')", "alert('js')", "vbscript:",
                       "data:text/html", "evil.example", "display: none", "<img src=x", "<b onmouseover"]:
            assert marker not in page, f"{marker!r} reached the published page"
        # The page's own markup (its scripts, styles, images) is ours; the story's part of it must run nothing.
        document = lxml_html.document_fromstring(page)
        article = document.xpath("//article") or document.xpath("//main") or [document.body]
        story_html = lxml_html.tostring(article[0], encoding="unicode")
        assert "the full report" in story_html
        for element in article[0].iter():
            if not isinstance(element.tag, str):
                continue
            for name, value in element.attrib.items():
                assert not name.lower().startswith("on"), f"{name}={value!r} on <{element.tag}> in the page"
                if name.lower() in ("href", "src", "action"):
                    assert_harmless_link(value)
            if element.tag == "script":
                assert "alert" not in (element.text or ""), lxml_html.tostring(element, encoding="unicode")
            assert element.tag not in ("iframe", "object", "embed", "svg", "math", "form"), element.tag

    @pytest.mark.parametrize("key", ["body_html", "body_xhtml"])
    def test_version_1_html_bodies_are_cleaned_too(self, news, key):
        raw = {"uri": f"urn:byline-test:{key}", "type": "text", "headline": "Old agency",
               key: "<p>Kept <script>alert(1)</script><a href='javascript:alert(2)'>x</a>"
                    "<a href='https://example.org/'>y</a></p>"}
        [result] = import_counted(dumps(raw), section=news)
        body = self.stored_body(StoryPage.objects.get(pk=result.id).get_latest_revision_as_object())
        assert "alert" not in body and "<script" not in body
        assert 'href="https://example.org/"' in body

    def test_plain_text_bodies_are_escaped_not_interpreted(self, news):
        raw = text_item(uri="urn:byline-test:plain")
        raw["bodies"] = [{"role": "main", "contenttype": "text/plain",
                          "value": "A <script>alert(1)</script> in plain text.\n\n<img src=x onerror=alert(2)>"}]
        [result] = import_counted(dumps(raw), section=news)
        body = self.stored_body(StoryPage.objects.get(pk=result.id).get_latest_revision_as_object())
        assert "<script" not in body and "<img" not in body
        assert "&lt;script&gt;" in body

    @FAST
    @given(html=st.lists(st.sampled_from([
        "<p>", "</p>", "<a href='", "javascript:", "java\u00a0script:", "data:text/html,", "https://ok.example/",
        "'>", "</a>", "<script>", "</script>", "<svg>", "<iframe src=x>", " onerror=", "alert(1)", "<img src=x",
        "<!--", "-->", "<![CDATA[", "]]>", "&#106;", "&lt;", "<style>", "</style>", "<b>", "<math>", "\x00", "\n",
    ]), max_size=30).map("".join))
    def test_any_mix_of_hostile_fragments_is_cleaned(self, html):
        from wire.importer import body_blocks

        item = parse_item({"uri": "urn:x", "type": "text", "headline": "H", "body_html": html})
        blocks, _ = body_blocks(item)
        body = "".join(value.source for _, value in blocks)
        if body:
            assert_nothing_runs(body)


# The command line ------------------------------------------------------------------------------------------

class TestImportCommand:
    def run(self, *args):
        out, err = StringIO(), StringIO()
        try:
            call_command("import_ninjs", *args, stdout=out, stderr=err)
        except CommandError as error:
            return error, out.getvalue(), err.getvalue()
        return None, out.getvalue(), err.getvalue()

    def test_a_file_with_one_bad_item_imports_the_good_one_and_fails(self, news, tmp_path):
        path = tmp_path / "batch.json"
        path.write_bytes(dumps([text_item(), {"uri": "urn:byline-test:bad", "type": "text"}]))
        before = rows()
        error, out, err = self.run(str(path))
        assert isinstance(error, CommandError) and error.returncode == 1 and "1 item(s) failed" in str(error)
        assert f"{path} item 2" in err and "without a headline" in err
        assert "1 created" in out and "1 failed" in out
        assert rows()["StoryPage"] == before["StoryPage"] + 1
        assert not WireItem.objects.filter(uri="urn:byline-test:bad").exists()

    @pytest.mark.parametrize("content", [b"{oops", b"\xff\xfe\x00", b"[]", b"null", b"[" * 50_000])
    def test_an_unreadable_file_fails_naming_the_file(self, news, tmp_path, content):
        path = tmp_path / "broken.json"
        path.write_bytes(content)
        before = rows()
        error, _, err = self.run(str(path))
        assert isinstance(error, CommandError) and error.returncode == 1
        assert str(path) in err
        assert rows() == before

    def test_a_missing_file_fails_and_the_others_are_imported(self, news, tmp_path):
        good = tmp_path / "good.json"
        good.write_bytes(dumps(text_item()))
        error, out, err = self.run(str(tmp_path / "missing.json"), str(good))
        assert isinstance(error, CommandError) and "missing.json" in err
        assert StoryPage.objects.filter(title="Council passes the budget").exists()

    def test_a_directory_with_a_hostile_file(self, news, tmp_path):
        (tmp_path / "a-good.json").write_bytes(dumps(text_item()))
        (tmp_path / "b-hostile.json").write_bytes(b'{"uri": "urn:x", "headline": NaN}')
        error, out, err = self.run(str(tmp_path))
        assert isinstance(error, CommandError)
        assert "b-hostile.json" in err and "NaN" in err
        assert "1 created" in out


# The push endpoint -----------------------------------------------------------------------------------------

@pytest.fixture
def agency(news):
    origin = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA")
    token, secret = AgencyToken.issue(name="JTA wire feed", origin=origin)
    return token, secret


def push(client, body, secret=None, content_type="application/json", **headers):
    if secret is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    headers.setdefault("CONTENT_TYPE", content_type)  # the test client leaves it out for an empty body
    response = client.post(PUSH_URL, data=body, content_type=content_type, **headers)
    assert response.status_code < 500, response.content
    return response


class TestPushEndpoint:
    def test_no_token_is_401_with_a_challenge(self, client, agency):
        response = push(client, dumps(text_item()))
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert "token" in response.json()["error"]

    @pytest.mark.parametrize("authorization", ["Bearer nope", "Bearer " + "x" * 5_000, "Basic dXNlcjpwYXNz",
                                               "Bearer", "bearer  ", "Bearer bylw_\u00e9\u0000"])
    def test_an_unknown_or_malformed_token_is_401(self, client, agency, authorization):
        response = client.post(PUSH_URL, data=dumps(text_item()), content_type="application/json",
                               HTTP_AUTHORIZATION=authorization)
        assert response.status_code == 401
        assert "WWW-Authenticate" in response
        assert response.json()["error"]
        assert not StoryPage.objects.exists()

    def test_a_revoked_token_is_403(self, client, agency):
        token, secret = agency
        token.revoke()
        response = push(client, dumps(text_item()), secret)
        assert response.status_code == 403 and "revoked" in response.json()["error"]
        assert not StoryPage.objects.exists()

    @pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/html",
                                              "application/xml"])
    def test_the_wrong_content_type_is_415(self, client, agency, content_type):
        response = push(client, dumps(text_item()), agency[1], content_type=content_type)
        assert response.status_code == 415 and response.json()["error"]
        assert not StoryPage.objects.exists()

    def test_too_large_is_413(self, client, agency):
        with override_settings(WIRE_PUSH_MAX_BYTES=100):
            response = push(client, dumps(text_item(headline="A" * 500)), agency[1])
        assert response.status_code == 413 and "100" in response.json()["error"]
        assert not StoryPage.objects.exists()

    def test_a_body_longer_than_its_content_length_is_413(self, client, agency):
        with override_settings(WIRE_PUSH_MAX_BYTES=100):
            response = push(client, dumps(text_item(headline="A" * 500)), agency[1], CONTENT_LENGTH="10")
        assert response.status_code in (400, 413)
        assert not StoryPage.objects.exists()

    def test_a_content_length_that_is_not_a_number_is_400(self, client, agency):
        response = push(client, dumps(text_item()), agency[1], CONTENT_LENGTH="lots")
        assert response.status_code == 400 and response.json()["error"]

    @pytest.mark.parametrize("body, words", [
        (b"{not json", "invalid JSON"),
        (b'{"uri": "urn:x", "headline": NaN}', "NaN"),
        (b"", "invalid JSON"),
        (b"[]", "empty list"),
        (b"\xff\xfe", "UTF-8"),
        (b"[" * 100_000, "nested too deeply"),
    ])
    def test_unreadable_json_is_400_with_an_error(self, client, agency, body, words):
        response = push(client, body, agency[1])
        assert response.status_code == 400
        assert words in response.json()["error"]
        assert not StoryPage.objects.exists()

    def test_a_batch_with_one_invalid_item_is_400_and_imports_nothing(self, client, agency):
        before = rows()
        batch = [text_item(), text_item(uri="urn:byline-test:second", headline="Second"),
                 {"uri": "urn:byline-test:bad", "type": "text"}]
        response = push(client, dumps(batch), agency[1])
        assert response.status_code == 400
        answer = response.json()
        assert "nothing was imported" in answer["error"]
        assert answer["errors"] == [
            {"index": 2, "uri": "urn:byline-test:bad", "error": "a text item without a headline"},
        ]
        assert rows() == before

    def test_a_good_item_is_201(self, client, agency):
        response = push(client, dumps(text_item()), agency[1])
        assert response.status_code == 201
        assert response.json()["items"][0]["status"] == CREATED

    def test_get_is_405(self, client, agency):
        response = client.get(PUSH_URL, HTTP_AUTHORIZATION=f"Bearer {agency[1]}")
        assert response.status_code == 405

    @pytest.mark.parametrize("method", ["put", "delete", "patch"])
    def test_other_methods_are_405(self, client, agency, method):
        response = getattr(client, method)(PUSH_URL, data=dumps(text_item()), content_type="application/json",
                                           HTTP_AUTHORIZATION=f"Bearer {agency[1]}")
        assert response.status_code == 405
        assert not StoryPage.objects.exists()

    def test_deeply_nested_associations_are_400(self, client, agency):
        raw = {"uri": "urn:deep:leaf", "type": "picture"}
        for n in range(300):
            raw = {"uri": f"urn:deep:{n}", "type": "text", "headlines": [{"value": "Deep"}],
                   "associations": [dict(raw, name="a")]}
        response = push(client, dumps(raw), agency[1])
        assert response.status_code == 400

    def test_dates_at_the_edge_of_time_are_not_a_500(self, client, agency):
        response = push(client, dumps(text_item(firstcreated="0001-01-01T00:00:00+05:00")), agency[1])
        assert response.status_code in (201, 400, 422)

    @OVER_HTTP
    @given(items=st.lists(mutated_examples(), min_size=1, max_size=2))
    def test_damaged_agency_items_are_never_a_500(self, client, agency, items):
        with rolled_back():
            before = rows()
            response = push(client, dumps(items if len(items) > 1 else items[0]), agency[1])
            assert response.status_code in (200, 201, 400, 422), response.content
            if response.status_code == 400:
                assert response.json()["error"]
                assert rows() == before, "a refused push changed the database"
