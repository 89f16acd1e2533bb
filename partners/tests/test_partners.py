"""Partners: the command that adds and revokes them, their copies counted even without a Referer, their
numbers in the admin, and a policy that offers stories to partners only."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from partners.models import Partner, PartnerSite, hash_key
from republish.factories import RepublishingPolicyFactory
from republish.handout import build_handout
from republish.pixel import parse_pixel_path, partner_via, pixel_path
from stories.factories import StoryPageFactory
from tracking.counting import count_all_new_hits
from tracking.factories import hit
from tracking.models import Copy
from tracking.tests.helpers import inline_pixel, request

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 11, 20, 12, tzinfo=UTC)


def add(*args):
    out = StringIO()
    call_command("partners", "add", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news, title="Harbor cleanup")


@pytest.fixture
def gazette(site):
    return add("Harbor Gazette", "--site", "https://www.harbor.example/news/", "--site", "bay.example",
               "--email", "desk@harbor.example", "--webhook", "https://harbor.example/hooks/byline")


def count(now=NOON + timedelta(days=3)):
    count_all_new_hits(now=now)


def count_now():
    """For hits the pixel received just now."""
    count(timezone.now() + timedelta(minutes=1))


# ---- the command

def test_adding_a_partner_prints_its_id_key_secret_and_feeds_once(gazette):
    partner = Partner.objects.get(pk=gazette["id"])
    assert gazette["name"] == "Harbor Gazette" and len(gazette["key"]) >= 32
    assert partner.key_hash == hash_key(gazette["key"]) and gazette["key"] not in partner.key_hash
    assert gazette["webhook_secret"] == partner.webhook_secret and len(partner.webhook_secret) == 64
    assert gazette["feeds"]["atom"].endswith(f"/partners/{gazette['key']}/atom/")
    assert gazette["feeds"]["ninjs"].endswith(f"/partners/{gazette['key']}/ninjs/")
    assert sorted(site.host for site in partner.sites.all()) == ["bay.example", "www.harbor.example"]
    assert [contact.email for contact in partner.contacts.all()] == ["desk@harbor.example"]
    assert Partner.objects.with_key(gazette["key"]) == partner


def test_list_and_show_never_print_the_key(gazette):
    out = StringIO()
    call_command("partners", "list", "--json", stdout=out)
    listed = json.loads(out.getvalue())
    assert [p["name"] for p in listed] == ["Harbor Gazette"] and gazette["key"] not in out.getvalue()
    assert listed[0]["key_hint"] == gazette["key"][:6]
    out = StringIO()
    call_command("partners", "show", "Harbor Gazette", stdout=out)
    assert json.loads(out.getvalue())["sites"] == ["www.harbor.example", "bay.example"]
    assert gazette["key"] not in out.getvalue()


def test_a_revoked_key_opens_nothing_at_once_and_a_new_one_can_be_issued(gazette):
    call_command("partners", "revoke", "Harbor Gazette", stdout=StringIO())
    assert Partner.objects.with_key(gazette["key"]) is None
    out = StringIO()
    call_command("partners", "rekey", "Harbor Gazette", stdout=out)
    new_key = json.loads(out.getvalue())["key"]
    assert new_key != gazette["key"] and Partner.objects.with_key(new_key).name == "Harbor Gazette"
    assert Partner.objects.with_key(gazette["key"]) is None


def test_paused_and_ended_partners_keys_open_nothing(gazette):
    partner = Partner.objects.get(pk=gazette["id"])
    for status in (Partner.PAUSED, Partner.ENDED):
        partner.status = status
        partner.save()
        assert Partner.objects.with_key(gazette["key"]) is None


@pytest.mark.parametrize("args, words", [
    (["Bay News", "--site", "not a site"], "Not a site"),
    (["Bay News", "--site", "https://baynews.example", "--email", "nobody"], "Enter a valid email address"),
    (["Bay News", "--site", "https://baynews.example", "--webhook", "ftp://baynews.example/x"], "Enter a valid URL"),
    (["Harbor Gazette", "--site", "https://other.example"], "exists already"),
    (["Bay News", "--site", "https://harbor.example/"], "already a partner's site"),
])
def test_bad_input_is_a_clear_error_and_adds_nothing(gazette, args, words):
    if "harbor.example" in args[-1]:
        PartnerSite.objects.create(partner=Partner.objects.get(pk=gazette["id"]), host="harbor.example")
    with pytest.raises(CommandError, match=words):
        add(*args)
    assert list(Partner.objects.values_list("name", flat=True)) == ["Harbor Gazette"]


def test_unknown_partners_are_named_in_the_error(site):
    with pytest.raises(CommandError, match="No partner named 'Nobody'"):
        call_command("partners", "revoke", "Nobody")


# ---- counting a partner's copies

def test_the_pixel_of_a_partners_feed_is_signed_for_that_partner(story, gazette):
    via = partner_via(gazette["id"])
    parsed = parse_pixel_path(pixel_path(story.pk, via))
    assert parsed[:2] == (story.pk, via)
    # Another partner's id with this signature, or the story's own pixel signature, is forged.
    forged = pixel_path(story.pk, via).replace(f"/{via}/", f"/{partner_via(gazette['id'] + 1)}/")
    assert parse_pixel_path(forged) is not None  # well formed...
    pixel = inline_pixel("wsgi", None)
    request(pixel, forged, referer="https://www.harbor.example/news/cleanup/")
    request(pixel, pixel_path(story.pk, via), referer="")
    count_now()
    assert Copy.objects.filter(story_id=story.pk).count() == 1  # ...but not counted


def test_a_feed_copy_read_without_a_referer_counts_for_its_partner(story, gazette, site):
    """The reader's browser sends no Referer (referrerpolicy stripped, a strict site policy): the copy is the
    partner's page, unnamed, and its readers are the partner's."""
    handout = build_handout(story, RepublishingPolicyFactory(site=site), via=partner_via(gazette["id"]))
    pixel = inline_pixel("wsgi", None)
    path = handout.pixel_url.split("://", 1)[1].split("/", 1)[1]
    for n in range(3):
        assert request(pixel, "/" + path, ip=f"198.51.100.{n}", referer="").status_code == 200
    request(pixel, "/" + path, ip="198.51.100.9", referer="https://bay.example/2026/harbor/")
    count_now()
    partner = Partner.objects.get(pk=gazette["id"])
    copies = {str(copy) for copy in partner.copies()}
    assert copies == {f"a page of partner {partner.pk} (no address sent)", "https://bay.example/2026/harbor/"}
    from tracking.api import copies_report

    assert copies_report(partner.copies())["totals"]["readers"] == 4


def test_copies_on_a_partners_sites_are_its_own_and_nobody_elses(story, gazette, site):
    other = add("Cape Courier", "--site", "cape.example")
    hit(story, NOON, visitor="a", copy="https://www.harbor.example/2026/cleanup/")
    hit(story, NOON, visitor="b", copy="https://harbor.example/2026/cleanup/")
    hit(story, NOON, visitor="c", copy="https://cape.example/harbor/")
    hit(story, NOON, visitor="d", copy="https://stranger.example/harbor/")
    count()
    gazette_copies = {copy.url for copy in Partner.objects.get(pk=gazette["id"]).copies()}
    assert gazette_copies == {"https://www.harbor.example/2026/cleanup/", "https://harbor.example/2026/cleanup/"}
    assert {copy.url for copy in Partner.objects.get(pk=other["id"]).copies()} == {"https://cape.example/harbor/"}


# ---- the admin

@pytest.fixture
def editor(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("editor", "editor@example.org", "pw"))
    return client


def test_the_partners_view_shows_each_partners_copies_views_readers(story, gazette, editor):
    for n, visitor in enumerate("abc"):
        hit(story, NOON + timedelta(hours=n), visitor=visitor, copy="https://bay.example/2026/harbor/")
    count()
    response = editor.get("/admin/partners/?from=2026-11-01&to=2026-11-30")
    assert response.status_code == 200
    row = response.context["rows"][0]
    assert (row["partner"].name, row["copies"], row["views"], row["readers"]) == ("Harbor Gazette", 1, 3, 3)
    detail = editor.get(f"/admin/partners/{gazette['id']}/?from=2026-11-01&to=2026-11-30")
    assert detail.status_code == 200
    assert [(s["title"], s["copies"], s["readers"]) for s in detail.context["stories"]] == [("Harbor cleanup", 1, 3)]
    assert editor.get("/admin/snippets/partners/partner/").status_code == 200


def test_the_partners_view_needs_an_editor(client, gazette):
    assert client.get("/admin/partners/").status_code == 302


# ---- partners only

def test_partners_only_policy_tells_readers_how_to_become_a_partner(client, story, site):
    RepublishingPolicyFactory(site=site, audience="partners", contact_email="syndication@ledger.example")
    response = client.get(story.url)
    box = response.content.decode()
    assert "Our stories are republished by our partners" in box and "syndication@ledger.example" in box
    assert response.context["may_republish"] is False
    data = client.get(f"/republish/{story.pk}.json").json()
    assert data["eligible"] is False and data["html"] is None
