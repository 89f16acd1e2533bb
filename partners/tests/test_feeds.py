"""A partner's keyed feeds (issue #20): valid Atom 1.0 and ninjs 2.2, each story with the handout whose pixel
names this partner, the licence, the credit, corrections and schema.org; stable ids; only stories that may
travel, withdrawn ones listed as canceled; keys checked on every request; a rate limit; a cache purged when
what the feeds carry changes."""

import json
import threading
import time
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from django.utils import timezone

from partners import feeds
from partners.models import FeedEntry, Partner
from republish.handout import build_handout
from republish.pixel import is_valid, parse_pixel_path, partner_via
from stories.factories import CorrectionFactory, OriginFactory, SectionPageFactory, StoryPageFactory
from stories.models import Origin, StoryPage

from .conftest import atom, body, ninjs, pixel_paths

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
HANDOUT = "{" + feeds.HANDOUT_NS + "}"


def reload(story):
    return StoryPage.objects.get(pk=story.pk)


def publish(story, **changes):
    story = reload(story)
    for name, value in changes.items():
        setattr(story, name, value)
    story.save_revision().publish()
    return reload(story)


def atom_xml(client, partner):
    response = client.get(f"/partners/{partner.key}/atom/")
    assert response.status_code == 200
    return ET.fromstring(response.content)


def entry_ids(parsed):
    return [entry.id for entry in parsed.entries]


def uris(items, status=None):
    return [item["uri"] for item in items if status is None or item["pubstatus"] == status]


# ---- What a story carries

def test_the_atom_feed_is_valid_and_each_entry_has_a_stable_id_link_licence_and_rights(client, story, gazette):
    response = client.get(f"/partners/{gazette.key}/atom/")
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    parsed = atom(client, gazette)
    assert parsed.version == "atom10"
    [entry] = parsed.entries
    year = story.first_published_at.year
    assert entry.id == f"tag:testserver,{year}:story/{story.pk}"
    assert entry.title == "Harbor cleanup begins" and entry.summary == "Crews start on the east pier."
    links = {link.rel: link.href for link in entry.links}
    assert links == {"alternate": "http://testserver/news/harbor-cleanup/",
                     "license": "https://creativecommons.org/licenses/by-nd/4.0/"}
    assert entry.rights.startswith(f"© {year} The Harbor Ledger. Free to republish under CC BY-ND 4.0")
    assert [author.name for author in entry.authors] == [link.author.name for link in story.story_authors.all()]
    assert entry.handout_credit == "The Harbor Ledger"
    assert parsed.feed.rights and parsed.feed.title == "The Harbor Ledger: stories to republish"


def test_the_atom_content_is_the_handout_with_this_partners_pixel(client, story, policy, gazette, courier):
    expected = build_handout(story, policy, via=partner_via(gazette.pk))
    [entry] = atom(client, gazette).entries
    assert entry.content[0].type == "text/html"
    assert entry.handout_text == expected.text
    assert entry.handout_head == expected.head
    # feedparser rewrites the HTML it reads (the order of attributes): the XML says what was sent.
    html = atom_xml(client, gazette).find(f"{ATOM}entry/{ATOM}content").text
    assert html.startswith(expected.html + "\n")
    [path] = pixel_paths(html)
    story_id, via, signature = parse_pixel_path(path)
    assert (story_id, via) == (story.pk, partner_via(gazette.pk)) and is_valid(story_id, signature, via)
    # The other partner's feed, from the same build, names the other partner.
    [other] = pixel_paths(atom(client, courier).entries[0].content[0].value)
    assert parse_pixel_path(other)[1] == partner_via(courier.pk)


def test_the_atom_content_carries_schema_org_based_on_our_story(client, story, gazette):
    html = atom(client, gazette).entries[0].content[0].value
    data = json.loads(html.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0])
    assert data["@type"] == "NewsArticle" and data["isBasedOn"] == "http://testserver/news/harbor-cleanup/"
    assert data["license"] == "https://creativecommons.org/licenses/by-nd/4.0/"
    assert data["sourceOrganization"]["name"] == data["copyrightHolder"]["name"] == "The Harbor Ledger"


def test_ninjs_items_are_valid_ninjs_2_2_with_the_handout_licence_credit_and_schema_org(client, story, policy,
                                                                                        gazette):
    [item] = ninjs(client, gazette)  # each item validated against IPTC's schema
    expected = build_handout(story, policy, via=partner_via(gazette.pk))
    assert item["uri"] == f"tag:testserver,{story.first_published_at.year}:story/{story.pk}"
    assert item["pubstatus"] == "usable" and item["standard"]["version"] == "2.2"
    assert body(item, "text/html") == expected.html
    assert body(item, "text/plain") == expected.text
    assert body(item, "text/html", role="head") == expected.head
    [path] = pixel_paths(body(item, "text/html"))
    assert parse_pixel_path(path)[:2] == (story.pk, partner_via(gazette.pk))
    assert item["copyrightholder"] == "The Harbor Ledger"
    assert item["copyrightnotice"] == f"© {timezone.localtime(story.published_at).year} The Harbor Ledger"
    assert item["usageterms"].startswith("Free to republish under CC BY-ND 4.0")
    assert item["rightsinfo"] == {"linkedrights": "https://creativecommons.org/licenses/by-nd/4.0/"}
    data = json.loads(body(item, "application/ld+json", role="schema.org"))
    assert data["isBasedOn"] == story.full_url and data["copyrightHolder"]["name"] == "The Harbor Ledger"


def test_a_wire_story_is_credited_to_its_agency(client, news, newsroom, policy, gazette):
    policy.wire_to_partners = True
    policy.save()
    agency = OriginFactory(name="Coastal Press Association", short_name="CPA", kind=Origin.WIRE, may_republish=True,
                           url="https://cpa.example/")
    StoryPageFactory(parent=news, origin=agency, title="Storm warning")
    [item] = ninjs(client, gazette)
    assert item["copyrightholder"] == "Coastal Press Association"
    data = json.loads(body(item, "application/ld+json", role="schema.org"))
    assert data["sourceOrganization"] == {"@type": "NewsMediaOrganization", "name": "Coastal Press Association",
                                          "url": "https://cpa.example/"}


def test_corrections_are_dated_in_order_everywhere(client, story, gazette):
    CorrectionFactory(story=story, date=date(2026, 12, 3), text="<p>The pier is the east pier.</p>", sort_order=0)
    CorrectionFactory(story=story, date=date(2026, 12, 1), text="<p>The crew has <b>twelve</b> people.</p>",
                      sort_order=1)
    [item] = ninjs(client, gazette)
    assert [d["value"] for d in item["descriptions"] if d["role"] == "correction"] == [
        "Correction, December 1, 2026: The crew has twelve people.",
        "Correction, December 3, 2026: The pier is the east pier.",
    ]
    data = json.loads(body(item, "application/ld+json", role="schema.org"))
    assert [(c["datePublished"], c["text"]) for c in data["correction"]] == [
        ("2026-12-01", "The crew has twelve people."), ("2026-12-03", "The pier is the east pier.")]
    entry = atom_xml(client, gazette).find(f"{ATOM}entry")
    assert [(c.get("date"), c.text) for c in entry.findall(f"{HANDOUT}correction")] == [
        ("2026-12-01", "Correction, December 1, 2026: The crew has twelve people."),
        ("2026-12-03", "Correction, December 3, 2026: The pier is the east pier."),
    ]
    content = entry.find(f"{ATOM}content").text
    assert content.index("December 1, 2026") < content.index("December 3, 2026") < content.index("application/ld+json")


def test_a_substantive_update_note_travels_in_both_feeds_and_moves_the_version(client, story, gazette):
    [before] = ninjs(client, gazette)
    assert not [d for d in before["descriptions"] if d["role"] == "update"]
    StoryPage.objects.filter(pk=story.pk).update(update_note="  The council   vote moved to Friday <b>night</b>. ")
    feeds.forget_feeds()  # as publishing does (partners.signals)
    [item] = ninjs(client, gazette)
    assert [d["value"] for d in item["descriptions"] if d["role"] == "update"] == [
        "Update: The council vote moved to Friday <b>night</b>."]
    assert int(item["version"]) == int(before["version"]) + 1
    entry = atom_xml(client, gazette).find(f"{ATOM}entry")
    assert entry.find(f"{HANDOUT}update").text == "The council vote moved to Friday <b>night</b>."
    content = entry.find(f"{ATOM}content").text
    assert "<p><em>Update: The council vote moved to Friday &lt;b&gt;night&lt;/b&gt;.</em></p>" in content


def test_headlines_that_look_like_markup_stay_text(client, news, newsroom, policy, gazette):
    StoryPageFactory(parent=news, title="<b>Bold</b> & <script>alert(1)</script>", dek="1 < 2")
    [entry] = atom(client, gazette).entries
    assert entry.title == "<b>Bold</b> & <script>alert(1)</script>" and entry.summary == "1 < 2"
    assert ninjs(client, gazette)[0]["headlines"][0]["value"] == "<b>Bold</b> & <script>alert(1)</script>"
    assert "<script>alert(1)" not in entry.content[0].value  # the handout escapes it


# ---- Ids and updates

def test_ids_survive_a_new_slug_and_a_move_to_another_section(client, story, gazette):
    before_atom, before_ninjs = entry_ids(atom(client, gazette)), ninjs(client, gazette)
    publish(story, slug="harbor-cleanup-starts")
    after_slug = ninjs(client, gazette)
    assert after_slug[0]["uri"] == before_ninjs[0]["uri"]
    assert after_slug[0]["versioncreated"] > before_ninjs[0]["versioncreated"]  # the address changed
    assert "harbor-cleanup-starts" in body(after_slug[0], "text/html")
    city = SectionPageFactory(parent=story.get_parent().get_parent(), title="City", slug="city")
    reload(story).move(city, pos="last-child")
    moved = atom(client, gazette).entries
    assert entry_ids(atom(client, gazette)) == before_atom
    assert moved[0].link == "http://testserver/city/harbor-cleanup-starts/"
    assert ninjs(client, gazette)[0]["uri"] == before_ninjs[0]["uri"]


def test_updated_moves_when_the_story_or_its_corrections_change_and_only_then(client, story, gazette):
    [first] = ninjs(client, gazette)
    feeds.forget_feeds()  # built again: nothing changed, nothing moves
    assert ninjs(client, gazette) == [first]
    CorrectionFactory(story=story, date=date(2026, 12, 1))
    [corrected] = ninjs(client, gazette)
    assert corrected["versioncreated"] > first["versioncreated"] and corrected["version"] == "2"
    assert atom(client, gazette).entries[0].updated == corrected["versioncreated"]
    publish(story, title="Harbor cleanup begins at dawn")
    [retitled] = ninjs(client, gazette)
    assert retitled["versioncreated"] > corrected["versioncreated"] and retitled["version"] == "3"


def test_since_returns_only_what_changed_later_newest_first(client, news, newsroom, policy, gazette):
    older = StoryPageFactory(parent=news, title="Older")
    items = ninjs(client, gazette)
    mark = items[0]["versioncreated"]
    assert ninjs(client, gazette, since=mark) == []
    newer = StoryPageFactory(parent=news, title="Newer")
    publish(older, title="Older, updated")
    changed = ninjs(client, gazette, since=mark)
    assert [item["headlines"][0]["value"] for item in changed] == ["Older, updated", "Newer"]
    assert changed[1]["uri"].endswith(f"story/{newer.pk}")
    # Unencoded "+" in the query arrives as a space; naive times are UTC; a bad time is a 400.
    offset = mark.replace("Z", "+00:00")
    assert [i["uri"] for i in ninjs(client, gazette, since=offset)] == [i["uri"] for i in changed]
    response = client.get(f"/partners/{gazette.key}/ninjs/?since={offset.replace('+', '%20')}")
    assert [i["uri"] for i in response.json()] == [i["uri"] for i in changed]
    assert client.get(f"/partners/{gazette.key}/ninjs/", {"since": "yesterday"}).status_code == 400


# ---- Which stories travel

@pytest.mark.parametrize("wire_to_partners, agency_allows, carried", [
    (False, False, False), (False, True, False), (True, False, False), (True, True, True),
])
def test_a_wire_story_travels_only_if_its_agency_allows_it_and_the_policy_sends_wire_stories(
        client, news, newsroom, policy, gazette, wire_to_partners, agency_allows, carried):
    policy.wire_to_partners = wire_to_partners
    policy.save()
    agency = OriginFactory(kind=Origin.WIRE, may_republish=agency_allows)
    own = StoryPageFactory(parent=news, title="Ours")
    wire = StoryPageFactory(parent=news, origin=agency, title="Theirs")
    # Switched on by an editor before the agency's terms changed: the switch never overrides the agency.
    StoryPage.objects.filter(pk=wire.pk).update(republishing=StoryPage.REPUBLISH_ON)
    expected = {own.pk, wire.pk} if carried else {own.pk}
    assert {int(i["uri"].rsplit("/", 1)[1]) for i in ninjs(client, gazette)} == expected
    assert {int(e.id.rsplit("/", 1)[1]) for e in atom(client, gazette).entries} == expected


def test_switching_wire_stories_off_in_the_policy_cancels_them_at_once(client, news, newsroom, policy, gazette):
    policy.wire_to_partners = True
    policy.save()
    wire = StoryPageFactory(parent=news, origin=OriginFactory(kind=Origin.WIRE, may_republish=True))
    [offered] = ninjs(client, gazette)
    policy.wire_to_partners = False
    policy.save()
    [canceled] = ninjs(client, gazette, since=offered["versioncreated"])
    assert canceled["uri"] == offered["uri"] and canceled["pubstatus"] == "canceled"
    assert atom(client, gazette).entries == []
    assert FeedEntry.objects.get(story_id=wire.pk).note == "Partners' feeds carry our own stories only."


@pytest.mark.parametrize("withdraw", ["embargo", "editors", "unpublished", "deleted", "section", "private"])
def test_a_story_that_stops_being_eligible_is_canceled_in_ninjs_and_leaves_atom(client, story, gazette, withdraw):
    [offered] = ninjs(client, gazette)
    if withdraw == "embargo":
        publish(story, republish_from=timezone.now() + timedelta(days=1))
    elif withdraw == "editors":
        publish(story, republishing=StoryPage.REPUBLISH_OFF, republishing_note="Under legal review.")
    elif withdraw == "unpublished":
        reload(story).unpublish()
    elif withdraw == "deleted":
        reload(story).delete()
    elif withdraw == "section":
        section = reload(story).get_parent().specific
        section.allow_republishing = False
        section.save_revision().publish()
    else:
        from wagtail.models import PageViewRestriction
        PageViewRestriction.objects.create(page=reload(story), restriction_type=PageViewRestriction.LOGIN)
    [canceled] = ninjs(client, gazette, since=offered["versioncreated"])
    assert canceled["uri"] == offered["uri"] and canceled["pubstatus"] == "canceled"
    assert canceled["version"] == "2" and canceled["versioncreated"] > offered["versioncreated"]
    assert canceled["headlines"] == [{"role": "main", "value": "Harbor cleanup begins"}]
    if withdraw == "editors":
        assert "Under legal review." in canceled["ednote"]
    assert atom(client, gazette).entries == []
    assert uris(ninjs(client, gazette), "canceled") == [offered["uri"]]  # the whole list says so too


def test_a_withdrawn_story_offered_again_is_usable_with_the_same_id(client, story, gazette):
    [offered] = ninjs(client, gazette)
    publish(story, republish_from=timezone.now() + timedelta(days=1))
    [canceled] = ninjs(client, gazette)
    publish(story, republish_from=None)
    [again] = ninjs(client, gazette, since=canceled["versioncreated"])
    assert again["uri"] == offered["uri"] and again["pubstatus"] == "usable" and again["version"] == "3"


def test_a_closing_window_cancels_the_story_and_the_build_expires_when_it_closes(client, story, policy, gazette,
                                                                                   rf):
    policy.window_days = 2
    policy.save()
    now = timezone.now()
    data = feeds.build(rf.get("/"), now=now)
    closes = story.published_at + timedelta(days=2)
    assert data["expires"] <= time.time() + (closes - now).total_seconds() + 1
    [offered] = ninjs(client, gazette)
    StoryPage.objects.filter(pk=story.pk).update(first_published_at=now - timedelta(days=3))  # time passes
    feeds.forget_feeds()
    [canceled] = ninjs(client, gazette, since=offered["versioncreated"])
    assert canceled["pubstatus"] == "canceled" and "could be republished until" in canceled["usageterms"]


def test_an_embargo_lifting_ends_the_cached_build(story, policy, rf):
    publish(story, republish_from=timezone.now() + timedelta(seconds=90))
    data = feeds.build(rf.get("/"))
    assert data["items"] == [] and data["expires"] <= time.time() + 91


def test_the_feeds_are_bounded_to_the_last_30_days(client, news, newsroom, policy, gazette):
    now = timezone.now()
    StoryPageFactory(parent=news, title="Recent", first_published_at=now - timedelta(days=29))
    old = StoryPageFactory(parent=news, title="Old", first_published_at=now - timedelta(days=40))
    assert [e.title for e in atom(client, gazette).entries] == ["Recent"]
    # An older story the feeds offered before comes back when it is published again (a correction, say).
    FeedEntry.objects.create(story_id=old.pk, uri=f"tag:testserver,2025:story/{old.pk}", first_offered=now,
                             updated=now - timedelta(days=35), fingerprint="old")
    publish(old, title="Old, corrected")
    entries = atom(client, gazette).entries
    assert [e.title for e in entries] == ["Old, corrected", "Recent"]
    assert entries[0].id == f"tag:testserver,2025:story/{old.pk}"  # the id it was first offered with


def test_a_story_that_ages_out_while_eligible_is_not_canceled(client, story, gazette):
    [offered] = ninjs(client, gazette)
    StoryPage.objects.filter(pk=story.pk).update(first_published_at=timezone.now() - timedelta(days=31),
                                                 last_published_at=timezone.now() - timedelta(days=31))
    feeds.forget_feeds()
    assert ninjs(client, gazette) == [] and ninjs(client, gazette, since=offered["versioncreated"]) == []
    assert FeedEntry.objects.get(story_id=story.pk).withdrawn_at is None


# ---- Keys

def test_unknown_revoked_paused_and_ended_keys_get_the_same_404(client, story, gazette, courier):
    revoked_key = courier.key
    courier.revoke()
    paused = Partner.objects.create(name="Paused Post", status=Partner.PAUSED)
    paused.key = paused.issue_key()
    ended = Partner.objects.create(name="Ended Echo", status=Partner.ENDED)
    ended.key = ended.issue_key()
    keys = ["A" * 32, revoked_key, paused.key, ended.key]  # "A" * 32: a key's shape, no partner's
    for suffix in ("atom/", "ninjs/", "", "copies.csv"):
        answers = set()
        for key in keys:
            response = client.get(f"/partners/{key}/{suffix}")
            answers.add((response.status_code, response.content, response["Content-Type"],
                         response["Cache-Control"], response["Referrer-Policy"], response["X-Robots-Tag"]))
        assert len(answers) == 1 and next(iter(answers))[0] == 404, answers
        assert client.get(f"/partners/{gazette.key}/{suffix}").status_code == 200
        # Not a key's shape at all: the site's own pages answer (partners/urls.py), here with their 404.
        for other in ("no-such-key", "x" * 200):
            assert client.get(f"/partners/{other}/{suffix}").status_code == 404


def test_a_revoked_or_paused_key_404s_at_once_and_a_new_key_works_at_once(client, story, gazette):
    assert client.get(f"/partners/{gazette.key}/atom/").status_code == 200
    gazette.revoke()
    assert client.get(f"/partners/{gazette.key}/atom/").status_code == 404
    new_key = gazette.issue_key()
    assert client.get(f"/partners/{new_key}/ninjs/").status_code == 200
    Partner.objects.filter(pk=gazette.pk).update(status=Partner.PAUSED)
    assert client.get(f"/partners/{new_key}/ninjs/").status_code == 404


def test_feeds_are_private_to_the_partner(client, story, gazette):
    response = client.get(f"/partners/{gazette.key}/atom/")
    assert response["Cache-Control"] == "private, no-cache"
    assert response["Referrer-Policy"] == "no-referrer" and response["X-Robots-Tag"] == "noindex, nofollow"
    assert gazette.key.encode() not in response.content  # the feed does not repeat its own address


# ---- Rate limit and counts

def wait_for_a_fresh_minute():
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


def test_each_partner_has_its_own_rate_limit(client, story, gazette, courier, settings):
    settings.PARTNER_FEED_REQUESTS_PER_MINUTE = 3
    wait_for_a_fresh_minute()
    for path in ("atom/", "ninjs/", "atom/"):
        assert client.get(f"/partners/{gazette.key}/{path}").status_code == 200
    limited = client.get(f"/partners/{gazette.key}/ninjs/")
    assert limited.status_code == 429 and 1 <= int(limited["Retry-After"]) <= 60
    assert client.get(f"/partners/{courier.key}/atom/").status_code == 200
    assert client.get(f"/partners/{gazette.key}/").status_code == 200  # the page has a limit of its own


def test_fetches_are_counted_with_at_most_one_write_a_minute(client, story, gazette):
    client.get(f"/partners/{gazette.key}/atom/")
    gazette.refresh_from_db()
    assert gazette.feed_fetches == 1 and timezone.now() - gazette.last_feed_fetch < timedelta(seconds=5)
    first = gazette.last_feed_fetch
    client.get(f"/partners/{gazette.key}/ninjs/")
    gazette.refresh_from_db()
    assert gazette.feed_fetches == 1 and gazette.last_feed_fetch == first  # written with the next write
    from django.core.cache import cache

    cache.delete(f"partners:fetch-written:{gazette.pk}")  # a minute later
    client.get(f"/partners/{gazette.key}/ninjs/")
    gazette.refresh_from_db()
    assert gazette.feed_fetches == 3 and gazette.last_feed_fetch > first


# ---- The cache

@pytest.fixture
def builds(monkeypatch):
    calls = []
    real = feeds.build

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(feeds, "build", counted)
    return calls


def test_one_build_serves_every_partner_and_format_until_something_changes(client, story, gazette, courier,
                                                                          builds):
    atom(client, gazette), ninjs(client, gazette), atom(client, courier), ninjs(client, courier, since="2000-01-01")
    assert len(builds) == 1
    feeds.forget_process_copy()  # another process reads the shared cache
    ninjs(client, courier)
    assert len(builds) == 1


def test_the_cache_is_purged_on_publish_and_a_new_story_appears_at_once(client, story, news, gazette, builds):
    assert len(atom(client, gazette).entries) == 1
    draft = StoryPageFactory(parent=news, title="Just in", live=False)
    assert len(atom(client, gazette).entries) == 1  # a draft is not carried...
    publish(draft)
    assert [e.title for e in atom(client, gazette).entries] == ["Just in", "Harbor cleanup begins"]
    publish(story, title="Harbor cleanup begins, updated")
    assert "Harbor cleanup begins, updated" in [e.title for e in atom(client, gazette).entries]
    reload(draft).unpublish()
    assert [e.title for e in atom(client, gazette).entries] == ["Harbor cleanup begins, updated"]
    assert len(builds) == 5


def test_while_another_process_builds_the_feeds_a_request_waits_for_its_build(client, story, gazette, builds,
                                                                             rf, monkeypatch):
    from django.core.cache import cache

    data = feeds.build(rf.get("/"))  # what the other process is making
    key = f"partners:feed:{feeds.feed_token()}"
    cache.add(f"{key}:building", 1, 30)
    threading.Timer(0.3, cache.set, (key, data, 60)).start()
    assert entry_ids(atom(client, gazette)) == [f"tag:testserver,{story.first_published_at.year}:story/{story.pk}"]
    assert len(builds) == 1  # only the other process's
    # A build that does not come (the other process died) is not waited for long.
    monkeypatch.setattr(feeds, "BUILD_WAIT_SECONDS", 0.2)
    feeds.forget_feeds()
    feeds.forget_process_copy()
    cache.add(f"partners:feed:{feeds.feed_token()}:building", 1, 30)
    assert len(atom(client, gazette).entries) == 1 and len(builds) == 2


def test_a_policy_change_reaches_the_feeds_at_once(client, story, policy, gazette):
    atom(client, gazette)
    policy.license = "cc-by-4.0"
    policy.save()
    entry = atom(client, gazette).entries[0]
    assert {link.rel: link.href for link in entry.links}["license"] == "https://creativecommons.org/licenses/by/4.0/"


def test_a_story_that_fails_to_build_is_left_out_and_the_rest_served(client, story, news, gazette, monkeypatch):
    other = StoryPageFactory(parent=news, title="Fine")
    real = feeds.story_content

    def broken(s, *args):
        if s.pk == story.pk:
            raise RuntimeError("broken body")
        return real(s, *args)

    monkeypatch.setattr(feeds, "story_content", broken)
    assert entry_ids(atom(client, gazette)) == [f"tag:testserver,{other.first_published_at.year}:story/{other.pk}"]


def test_a_placeholder_lookalike_in_a_story_is_left_alone(story, gazette):
    text = "/pixel/1/p0/0123456789abcdef.gif"
    assert feeds.with_partner_pixels(text, gazette.pk) == text
