"""Our stories as ninjs 2.2: valid against IPTC's schema, credited to whoever holds the rights, with usage
terms that say whether partners may republish them, a body whose links work anywhere, and the lead image
as a picture association."""

import json
from datetime import UTC, datetime

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from wagtail.models import PageViewRestriction
from wagtail.rich_text import RichText

from images.factories import BylineImageFactory
from republish.models import RepublishingPolicy
from stories.factories import AuthorFactory, CorrectionFactory, OriginFactory, StoryPageFactory, paragraphs
from stories.models import Origin, StoryPage
from wire.export import story_to_ninjs

from .conftest import SCHEMAS

pytestmark = pytest.mark.django_db

SCHEMA = SCHEMAS / "ninjs-schema_2.2.json"
PUBLISHED = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)
UPDATED = datetime(2026, 11, 19, 9, 15, tzinfo=UTC)


def schema_errors(item):
    schema = json.loads(SCHEMA.read_text())
    # The schema points at GeoJSON's schema on the web for place geometry: nothing is fetched in tests.
    registry = Registry(retrieve=lambda uri: DRAFT202012.create_resource({}))
    validator = jsonschema.Draft202012Validator(
        schema, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(item)]


def export(client, story):
    response = client.get(f"/api/ninjs/{story.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    item = response.json()
    assert schema_errors(item) == []
    return item


def empty_values(value, where="item"):
    """Paths of empty strings, lists and objects anywhere in an item."""
    if value in ("", [], {}, None):
        return [where]
    if isinstance(value, dict):
        return [path for key, item in value.items() for path in empty_values(item, f"{where}/{key}")]
    if isinstance(value, list):
        return [path for i, item in enumerate(value) for path in empty_values(item, f"{where}/{i}")]
    return []


@pytest.fixture
def policy(site):
    return RepublishingPolicy.for_site(site)


@pytest.fixture
def story(news, newsroom):
    """Our own story with everything: several authors, a dateline, tags, a lead image, a correction."""
    story = StoryPageFactory(
        parent=news, title="Council passes the budget", slug="council-passes-the-budget",
        dek="A late vote ends a long night.", dateline_place="PORT ALDER",
        first_published_at=PUBLISHED, last_published_at=PUBLISHED,
        lead_image=BylineImageFactory(title="The council chamber", credit="Mara Lind / Harbor Ledger",
                                      default_caption="The council chamber at midnight."),
        authors=[AuthorFactory(name="Rosa Delgado"), AuthorFactory(name="Theo Marchetti"),
                 AuthorFactory(name="Ana Ruiz")],
        body=paragraphs(
            '<p>The council voted at midnight. <a href="/news/earlier-story/">Read our earlier story</a>.</p>',
            '<p>See <a href="https://example.org/minutes">the minutes</a>.</p>',
        ),
    )
    story.tags.add("Budget", "City council")
    story.save()
    return story


@pytest.fixture
def wire_story(news, newsroom):
    jta = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA", kind=Origin.WIRE)
    return StoryPageFactory(
        parent=news, title="Talks resume", dek="", dateline_place="JERUSALEM", origin=jta,
        first_published_at=PUBLISHED, last_published_at=PUBLISHED, authors=[AuthorFactory(name="Ben Sales")],
    )


# The item: valid ninjs 2.2 saying what the story is

def test_an_own_story_is_a_valid_ninjs_2_2_text_item(client, story):
    item = export(client, story)
    assert item["standard"] == {
        "name": "ninjs", "version": "2.2", "schema": "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json"
    }
    assert item["uri"] == "http://testserver/news/council-passes-the-budget/"
    assert item["type"] == "text"
    assert item["pubstatus"] == "usable"
    assert item["language"] == "en-US"
    assert item["headlines"] == [{"role": "main", "value": "Council passes the budget"}]
    assert item["descriptions"][0] == {"role": "summary", "value": "A late vote ends a long night."}
    assert item["located"] == "PORT ALDER"


def test_a_wire_story_and_a_bare_story_are_valid_and_carry_no_empty_properties(client, wire_story, news):
    bare = StoryPageFactory(parent=news, dek="", body=[], authors=[])
    for story in (wire_story, bare):
        item = export(client, story)
        assert empty_values(item) == []
        assert "associations" not in item and "subjects" not in item
    assert "descriptions" not in export(client, wire_story)
    bare_item = export(client, bare)
    assert "bodies" not in bare_item and "by" not in bare_item and "people" not in bare_item


def test_the_byline_names_every_author_in_order_and_people_are_the_authors(client, story):
    item = export(client, story)
    assert item["by"] == "Rosa Delgado, Theo Marchetti and Ana Ruiz"
    assert item["people"] == [
        {"name": "Rosa Delgado", "rel": "author"},
        {"name": "Theo Marchetti", "rel": "author"},
        {"name": "Ana Ruiz", "rel": "author"},
    ]


def test_tags_are_subjects(client, story):
    assert sorted(s["name"] for s in export(client, story)["subjects"]) == ["Budget", "City council"]


# Dates and versions

def test_first_created_is_first_publication_and_version_created_the_latest_of_publication_and_update(client, story):
    item = export(client, story)
    assert item["firstcreated"] == "2026-11-18T14:30:00Z"
    assert item["versioncreated"] == "2026-11-18T14:30:00Z"
    story.updated_at = UPDATED
    story.save()
    assert export(client, story)["versioncreated"] == "2026-11-19T09:15:00Z"


def test_the_version_changes_each_time_a_new_revision_is_published(client, story):
    before = export(client, story)["version"]
    story.save_revision().publish()
    first = export(client, story)["version"]
    story.title = "Council passes the budget at last"
    story.save_revision().publish()
    second = export(client, story)["version"]
    assert before != first != second
    assert float(before) < float(first) < float(second)  # readers compare versions as numbers


# Rights: who holds them and what partners may do

def test_our_own_story_is_ours_and_free_to_republish_under_the_license(client, story, policy):
    item = export(client, story)
    assert item["copyrightholder"] == "The Harbor Ledger"
    assert item["copyrightnotice"] == "© 2026 The Harbor Ledger"
    assert item["usageterms"] == (
        "Free to republish under CC BY-ND 4.0 (https://creativecommons.org/licenses/by-nd/4.0/). "
        f"Guidelines, credit lines and the copy-ready version: http://testserver/republish/{story.pk}/"
    )


def test_without_a_license_the_terms_point_to_the_guidelines(client, story, policy):
    policy.license = "none"
    policy.save()
    assert export(client, story)["usageterms"] == (
        "Free to republish, following our guidelines. "
        f"Guidelines, credit lines and the copy-ready version: http://testserver/republish/{story.pk}/"
    )


def test_a_wire_story_belongs_to_its_origin_and_is_not_for_republication(client, wire_story):
    item = export(client, wire_story)
    assert item["copyrightholder"] == "Jewish Telegraphic Agency"
    assert item["copyrightnotice"] == "© 2026 Jewish Telegraphic Agency"
    assert item["usageterms"] == (
        "Not for republication. This story originated with JTA and is not available for republishing. "
        "Rights belong to Jewish Telegraphic Agency."
    )


def test_a_partner_story_whose_agreement_allows_it_is_theirs_but_may_travel(client, news, newsroom):
    partner = OriginFactory(name="Lakeside Courier", kind=Origin.PARTNER, may_republish=True)
    item = export(client, StoryPageFactory(parent=news, origin=partner))
    assert item["copyrightholder"] == "Lakeside Courier"
    assert item["usageterms"].startswith("Free to republish under CC BY-ND 4.0")


def test_a_story_our_editors_switched_off_says_why(client, news, newsroom):
    story = StoryPageFactory(parent=news, republishing=StoryPage.REPUBLISH_OFF, republishing_note="It names a minor.")
    item = export(client, story)
    assert item["copyrightholder"] == "The Harbor Ledger"
    assert item["usageterms"] == (
        "Not for republication. This story is not available for republishing. It names a minor. "
        "Rights belong to The Harbor Ledger."
    )


# The body

def test_the_body_is_html_with_every_link_absolute_and_the_dateline_in_front(client, story):
    html = next(b for b in export(client, story)["bodies"] if b["contenttype"] == "text/html")
    assert html["role"] == "main"
    assert html["value"].startswith("<p><strong>PORT ALDER —</strong> The council voted at midnight.")
    assert '<a href="http://testserver/news/earlier-story/">Read our earlier story</a>' in html["value"]
    assert '<a href="https://example.org/minutes">the minutes</a>' in html["value"]
    assert 'href="/' not in html["value"]


def test_the_body_never_carries_images_embeds_or_scripts(client, news, newsroom):
    story = StoryPageFactory(parent=news, body=[
        ("paragraph", RichText('<p>Before<script>alert(1)</script><img src="/x.gif" onerror="alert(2)"></p>')),
        ("image", {"image": BylineImageFactory(), "caption": "A picture in the text"}),
        ("paragraph", RichText("<p>After</p>")),
    ])
    html = next(b for b in export(client, story)["bodies"] if b["contenttype"] == "text/html")["value"]
    assert html == "<p>Before</p>\n<p>After</p>"
    for unwanted in ("<img", "<script", "alert", "<figure", "<iframe", "A picture in the text"):
        assert unwanted not in html


def test_a_plain_text_body_keeps_each_link_address(client, story):
    text = next(b for b in export(client, story)["bodies"] if b["contenttype"] == "text/plain")["value"]
    assert text.startswith("PORT ALDER — The council voted at midnight.")
    assert "Read our earlier story (http://testserver/news/earlier-story/)" in text
    assert "<" not in text


def test_corrections_are_descriptions_partners_can_print(client, story):
    CorrectionFactory(story=story, date=PUBLISHED.date(),
                      text='<p>An earlier version misspelled <a href="/news/names/">a name</a>.</p>')
    item = export(client, story)
    assert item["descriptions"][1] == {
        "role": "correction", "contenttype": "text/plain",
        "value": "Correction, November 18, 2026: An earlier version misspelled a name "
                 "(http://testserver/news/names/).",
    }
    assert "ednote" not in item


# The lead image

def test_the_lead_image_is_a_picture_credited_to_its_maker_with_an_absolute_rendition(client, story):
    [picture] = export(client, story)["associations"]
    assert picture["name"] == "lead-image"
    assert picture["type"] == "picture"
    assert picture["uri"].startswith("http://testserver/media/original_images/")
    assert picture["headlines"] == [{"role": "main", "value": "The council chamber"}]
    assert picture["descriptions"] == [{"role": "caption", "value": "The council chamber at midnight."}]
    assert picture["by"] == picture["copyrightholder"] == "Mara Lind / Harbor Ledger"
    assert picture["usageterms"].startswith("Not covered by the story's republishing terms")
    [rendition] = picture["renditions"]
    assert rendition["name"] == "large"
    assert rendition["href"].startswith("http://testserver/media/images/")
    assert rendition["contenttype"] == "image/jpeg"
    assert (rendition["width"], rendition["height"]) == (320, 180)  # max-1200x1200 never enlarges


def test_the_story_caption_wins_over_the_image_caption(client, story):
    story.lead_image_caption = "Councillors vote on the budget."
    story.save()
    [picture] = export(client, story)["associations"]
    assert picture["descriptions"] == [{"role": "caption", "value": "Councillors vote on the budget."}]


# The address

def test_drafts_unpublished_private_and_unknown_stories_are_404(client, news, newsroom):
    draft = StoryPageFactory(parent=news, live=False)
    unpublished = StoryPageFactory(parent=news)
    unpublished.unpublish()
    private = StoryPageFactory(parent=news)
    PageViewRestriction.objects.create(page=private, restriction_type=PageViewRestriction.LOGIN)
    for story_id in (draft.pk, unpublished.pk, private.pk, 999999):
        assert client.get(f"/api/ninjs/{story_id}").status_code == 404


def test_the_export_takes_a_bounded_number_of_queries(client, story, django_assert_max_num_queries):
    CorrectionFactory(story=story)
    client.get(f"/api/ninjs/{story.pk}")  # the rendition is made once, on the first export
    with django_assert_max_num_queries(16):
        client.get(f"/api/ninjs/{story.pk}")


def test_the_function_works_without_a_request(story):
    item = story_to_ninjs(story, None)
    assert schema_errors(item) == []
    assert item["uri"] == "http://testserver/news/council-passes-the-budget/"


def test_our_own_ninjs_reader_reads_the_export_back(client, story, wire_story):
    from wire.ninjs import parse_item

    item = parse_item(export(client, story))
    assert (item.headline, item.dek, item.located) == ("Council passes the budget", "A late vote ends a long night.",
                                                      "PORT ALDER")
    assert item.author_names == ["Rosa Delgado", "Theo Marchetti", "Ana Ruiz"]
    assert item.origin_name == "The Harbor Ledger"
    assert [p.credit for p in item.pictures] == ["Mara Lind / Harbor Ledger"]
    assert parse_item(export(client, wire_story)).origin_name == "Jewish Telegraphic Agency"
