"""A token speaks for one agency (issue #17): a wire item's identity is (agency, uri), an agency updates and
withdraws only its own items, and what an agency sends never chooses its stories' origin."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from wagtail.models import Revision

from images.factories import BylineImageFactory
from republish.eligibility import is_republishable
from republish.models import RepublishingPolicy
from stories.factories import OriginFactory, StoryPageFactory
from stories.models import Origin, StoryAuthor, StoryPage
from wire.factories import AgencyTokenFactory, WireSettingsFactory, text_item
from wire.importer import Options, content_hash, import_raw
from wire.models import AgencyToken, WireItem

PUSH = "/api/wire/ninjs"


@pytest.fixture
def publishing(site, news):
    """Usable items go live at once, so that there is live content to protect."""
    return WireSettingsFactory(site=site, publish_usable=True)


@pytest.fixture
def bay(db):
    """The secret of Bay Agency's token."""
    return AgencyTokenFactory(origin=OriginFactory(name="Bay Agency", short_name="BA")).secret


@pytest.fixture
def cape(db):
    """The secret of Cape Agency's token."""
    return AgencyTokenFactory(origin=OriginFactory(name="Cape Agency", short_name="CA")).secret


def push(client, body, secret):
    return client.post(PUSH, data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {secret}")


def everything_about(client, story_id):
    """The story as stored and as readers get it: page row, revisions, authors, tags, wire record, page."""
    story = StoryPage.objects.get(pk=story_id)
    return {
        "page": list(StoryPage.objects.filter(pk=story_id).values()),
        "revisions": list(Revision.objects.filter(object_id=str(story_id)).order_by("pk").values()),
        "authors": list(StoryAuthor.objects.filter(story_id=story_id).order_by("pk").values()),
        "tags": sorted(story.tags.names()),
        "wire": list(WireItem.objects.filter(story_id=story_id).order_by("pk").values()),
        "html": client.get(story.url).content,
    }


def bays_live_story(client, bay):
    created = push(client, text_item(), bay)
    assert created.status_code == 201
    story_id = created.json()["items"][0]["id"]
    assert StoryPage.objects.get(pk=story_id).live
    return story_id


@pytest.mark.django_db
class TestOneAgencysItemsAreItsOwn:
    def test_an_agency_cannot_rewrite_another_agencys_story(self, client, publishing, bay, cape):
        story_id = bays_live_story(client, bay)
        before = everything_about(client, story_id)
        rewrite = text_item(version="2", headlines=[{"role": "main", "value": "Ferry strike called off: a hoax"}])

        answer = push(client, rewrite, cape)

        assert answer.status_code == 403
        assert answer.json()["errors"][0]["uri"] == "urn:example:wire:1"
        assert everything_about(client, story_id) == before
        assert StoryPage.objects.count() == 1

    def test_an_agency_cannot_withdraw_another_agencys_story(self, client, publishing, bay, cape):
        story_id = bays_live_story(client, bay)
        before = everything_about(client, story_id)

        answer = push(client, text_item(version="2", pubstatus="canceled"), cape)

        assert answer.status_code == 403 and "nothing was imported" in answer.json()["error"]
        assert everything_about(client, story_id) == before
        assert StoryPage.objects.get(pk=story_id).live

    def test_an_item_naming_the_agency_that_holds_its_uri_is_refused(self, client, publishing, bay, cape):
        story_id = bays_live_story(client, bay)
        before = everything_about(client, story_id)

        answer = push(client, text_item(copyrightholder="Bay Agency", headlines=[{"role": "main", "value": "Fake"}]),
                      cape)

        assert answer.status_code == 403
        assert everything_about(client, story_id) == before

    def test_a_batch_with_an_item_aimed_at_another_agency_is_refused_whole(self, client, publishing, bay, cape):
        bays_live_story(client, bay)
        answer = push(client, [text_item(uri="urn:cape:1"), text_item(version="7", pubstatus="withheld")], cape)
        assert answer.status_code == 403
        assert [error["index"] for error in answer.json()["errors"]] == [1]
        assert not WireItem.objects.filter(uri="urn:cape:1").exists()

    def test_two_agencies_may_use_the_same_uri_for_different_items(self, client, publishing, bay, cape):
        bays_id = bays_live_story(client, bay)
        capes = push(client, text_item(headlines=[{"role": "main", "value": "Cape ferry timetable"}]), cape)

        assert capes.status_code == 201
        capes_id = capes.json()["items"][0]["id"]
        assert capes_id != bays_id
        stories = {story.pk: story for story in StoryPage.objects.all()}
        assert (stories[bays_id].title, stories[bays_id].origin.name) == ("Ferry strike ends after nine days",
                                                                          "Bay Agency")
        assert (stories[capes_id].title, stories[capes_id].origin.name) == ("Cape ferry timetable", "Cape Agency")

    def test_each_agency_then_updates_and_withdraws_only_its_own(self, client, publishing, bay, cape):
        bays_id = bays_live_story(client, bay)
        capes_id = push(client, text_item(headlines=[{"role": "main", "value": "Cape"}]), cape).json()["items"][0]["id"]
        before = everything_about(client, bays_id)

        updated = push(client, text_item(version="2", headlines=[{"role": "main", "value": "Cape, later"}]), cape)
        withdrawn = push(client, text_item(version="3", pubstatus="canceled"), cape)

        assert updated.json()["items"][0]["id"] == capes_id and updated.json()["items"][0]["status"] == "updated"
        assert withdrawn.status_code == 200 and not StoryPage.objects.get(pk=capes_id).live
        after = everything_about(client, bays_id)
        # Bay's page lists Cape's story under "Most Popular" until it is withdrawn: only that part may change.
        assert {key: value for key, value in after.items() if key != "html"} == {
            key: value for key, value in before.items() if key != "html"}
        assert b"Ferry strike ends after nine days" in after["html"]


@pytest.mark.django_db
class TestAnAgencyCannotChooseAnOrigin:
    def test_a_push_naming_a_republishable_partner_gives_a_story_of_the_tokens_agency_that_may_not_travel(
        self, client, site, publishing, bay
    ):
        Origin.objects.create(name="Friendly Partner", kind=Origin.PARTNER, may_republish=True)
        item = text_item(copyrightholder="Friendly Partner",
                         infosources=[{"name": "Friendly Partner", "role": "originator"}])

        answer = push(client, item, bay)

        assert answer.status_code == 201
        story = StoryPage.objects.get(pk=answer.json()["items"][0]["id"])
        assert story.live and story.origin.name == "Bay Agency"
        decision = is_republishable(story, RepublishingPolicy.for_site(site))
        assert decision.eligible is False and decision.rule == "origin"

    def test_an_update_cannot_move_a_story_to_another_origin_either(self, client, site, publishing, bay):
        Origin.objects.create(name="Friendly Partner", kind=Origin.PARTNER, may_republish=True)
        story_id = bays_live_story(client, bay)

        push(client, text_item(version="2", copyrightholder="Friendly Partner"), bay)

        story = StoryPage.objects.get(pk=story_id)
        assert story.origin.name == "Bay Agency"
        assert is_republishable(story, RepublishingPolicy.for_site(site)).eligible is False


@pytest.mark.django_db
class TestImportCommandNamesTheAgency:
    def test_agency_makes_every_item_that_agencys_and_says_so(self, news, tmp_path, capsys):
        (tmp_path / "item.json").write_text(json.dumps(text_item()))

        call_command("import_ninjs", "--agency", "Bay Agency", str(tmp_path / "item.json"))

        out = capsys.readouterr().out
        assert "Agency: Bay Agency (--agency)" in out and "[Bay Agency]" in out
        record = WireItem.objects.get()
        assert record.agency.name == "Bay Agency" and record.story.origin == record.agency
        assert record.agency.kind == Origin.WIRE and not record.agency.may_republish

    def test_without_agency_the_item_names_it_and_the_output_says_so(self, news, tmp_path, capsys):
        (tmp_path / "item.json").write_text(json.dumps(text_item()))

        call_command("import_ninjs", str(tmp_path / "item.json"))

        out = capsys.readouterr().out
        assert "Agency: the one each item names" in out and "[Harbor Wire]" in out
        assert WireItem.objects.get().agency.name == "Harbor Wire"

    def test_the_same_uri_from_two_agencies_makes_two_stories(self, news, tmp_path, capsys):
        (tmp_path / "item.json").write_text(json.dumps(text_item()))

        call_command("import_ninjs", "--agency", "Bay Agency", "--json", str(tmp_path / "item.json"))
        call_command("import_ninjs", "--agency", "Cape Agency", "--json", str(tmp_path / "item.json"))

        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [(line["status"], line["agency"]) for line in lines] == [("created", "Bay Agency"),
                                                                        ("created", "Cape Agency")]
        assert lines[0]["id"] != lines[1]["id"]

    def test_our_own_newsroom_is_not_an_agency(self, news, tmp_path):
        Origin.objects.create(name="The Harbor Ledger", kind=Origin.OWN)
        (tmp_path / "item.json").write_text(json.dumps(text_item()))
        with pytest.raises(CommandError, match="our own newsroom"):
            call_command("import_ninjs", "--agency", "The Harbor Ledger", str(tmp_path / "item.json"))
        assert not StoryPage.objects.exists()

    def test_agency_and_origin_do_not_go_together(self, news, tmp_path):
        with pytest.raises(CommandError, match="not allowed with"):
            call_command("import_ninjs", "--agency", "A", "--origin", "B", str(tmp_path))


def wire_token(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("wire_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
class TestWireTokenCommand:
    def test_create_prints_the_token_once_and_creates_the_agency(self, client, news):
        out, err = wire_token("create", "--agency", "Bay Agency")

        secret = out.strip()
        assert secret.startswith("bylw_") and "\n" not in secret, "stdout holds the token alone, for scripts"
        assert "Created the agency Bay Agency" in err and secret not in err
        token = AgencyToken.objects.get()
        assert token.token_hash == AgencyToken.hash(secret) and secret not in token.token_hash
        assert (token.origin.name, token.origin.kind, token.origin.may_republish) == ("Bay Agency", Origin.WIRE, False)
        assert push(client, text_item(), secret).status_code == 201

    def test_create_for_a_known_agency_reuses_it(self, news):
        origin = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA")
        _, err = wire_token("create", "--agency", "jta", "--name", "JTA wire feed")
        assert "Created the agency" not in err
        token = AgencyToken.objects.get()
        assert (token.origin, token.name) == (origin, "JTA wire feed")

    def test_create_refuses_our_own_newsroom(self, news):
        Origin.objects.create(name="The Harbor Ledger", kind=Origin.OWN)
        with pytest.raises(CommandError, match="our own newsroom"):
            wire_token("create", "--agency", "The Harbor Ledger")
        assert not AgencyToken.objects.exists()

    def test_list_shows_agency_hint_created_last_used_and_revoked_never_the_token(self, client, news):
        bay, _ = wire_token("create", "--agency", "Bay Agency")
        cape, _ = wire_token("create", "--agency", "Cape Agency")
        push(client, text_item(), bay.strip())
        AgencyToken.objects.get(origin__name="Cape Agency").revoke()

        out, _ = wire_token("list")

        header, *rows = out.splitlines()
        assert header.split() == ["AGENCY", "HINT", "NAME", "CREATED", "LAST", "USED", "REVOKED"]
        assert len(rows) == 2
        assert rows[0].startswith("Bay Agency") and bay.strip()[:10] in rows[0] and rows[0].endswith("no")
        assert "never" not in rows[0]
        assert rows[1].startswith("Cape Agency") and "never" in rows[1] and not rows[1].endswith("no")
        assert bay.strip() not in out and cape.strip() not in out

    def test_revoke_by_the_hint_list_shows_stops_the_token_at_once(self, client, news):
        secret = wire_token("create", "--agency", "Bay Agency")[0].strip()
        assert push(client, text_item(), secret).status_code == 201
        hint = wire_token("list")[0].splitlines()[1].split()[2]  # AGENCY is two words here

        out, _ = wire_token("revoke", hint)

        assert f"Revoked {hint}" in out
        refused = push(client, text_item(version="2"), secret)
        assert refused.status_code == 403 and "revoked" in refused.json()["error"]
        assert "already revoked" in wire_token("revoke", hint)[0]

    def test_revoking_an_unknown_hint_is_an_error(self, news):
        wire_token("create", "--agency", "Bay Agency")
        with pytest.raises(CommandError, match="no token has the hint"):
            wire_token("revoke", "bylw_nope")
        assert AgencyToken.objects.get().is_active

    def test_hints_are_unique_so_that_they_name_one_token(self, news, monkeypatch):
        secrets = iter(["a" * 43, "a" * 43, "b" * 43])
        monkeypatch.setattr("wire.models.secrets.token_urlsafe", lambda n: next(secrets))
        first, _ = AgencyToken.issue(name="one", origin=OriginFactory())
        second, _ = AgencyToken.issue(name="two", origin=OriginFactory())
        assert first.hint != second.hint


@pytest.mark.django_db(transaction=True)
def test_upgrading_gives_existing_items_the_agency_they_came_from(client, news):
    """Items imported before agencies existed keep their stories: a file's item is its story's origin's, a
    pushed one its token's, a lead picture its story's; what cannot be known is the unnamed wire service's."""
    harbor, named, bay = (OriginFactory(name=name) for name in ("Harbor Wire", "Dispatch Co", "Bay Agency"))
    picture, stray = BylineImageFactory(), BylineImageFactory()
    filed = StoryPageFactory(parent=news, origin=harbor, lead_image=picture)
    pushed = StoryPageFactory(parent=news, origin=named)  # before the fix, the item named its origin
    _, secret = AgencyToken.issue(name="Bay feed", origin=bay)
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("wire", "0001_initial")])
        old = executor.loader.project_state([("wire", "0001_initial")]).apps.get_model("wire", "WireItem")
        for uri, fields in [
            ("urn:example:wire:1", {"story_id": filed.pk, "origin_id": harbor.pk, "source": "feed/one.json"}),
            ("urn:pushed", {"story_id": pushed.pk, "origin_id": named.pk, "source": "push: Bay feed"}),
            ("urn:picture", {"image_id": picture.pk, "kind": "picture", "source": "feed/one.json"}),
            ("urn:stray", {"image_id": stray.pk, "kind": "picture", "source": "feed/two.json"}),
        ]:
            old.objects.create(uri=uri, version="1", content_hash=content_hash({"uri": uri}),
                               **{"kind": "text", **fields})
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("wire"))

    agencies = dict(WireItem.objects.values_list("uri", "agency__name"))
    assert agencies == {"urn:example:wire:1": "Harbor Wire", "urn:pushed": "Bay Agency",
                        "urn:picture": "Harbor Wire", "urn:stray": "Unnamed wire service"}
    again = import_raw(text_item(version="2"), Options())
    assert (again.status, again.id) == ("updated", filed.pk)
    answer = push(client, text_item(uri="urn:pushed", version="2"), secret)
    assert answer.json()["items"][0]["status"] == "updated" and answer.json()["items"][0]["id"] == pushed.pk
