"""Wire copy in: every IPTC example imports, and the rules of docs/ninjs.md hold."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from images.models import BylineImage
from republish.eligibility import is_republishable
from republish.models import RepublishingPolicy
from stories.models import Origin, StoryPage
from wire.factories import text_item
from wire.importer import Options, import_document, import_raw
from wire.models import WireItem, WireSettings

from .conftest import example_files

pytestmark = pytest.mark.django_db


def run(raw, **options):
    return import_raw(raw, Options(**options))


def latest(result):
    return StoryPage.objects.get(pk=result.id).get_latest_revision_as_object()


class TestEveryExampleImports:
    @pytest.mark.parametrize("path", example_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
    def test_example_imports_without_error(self, path, news, picture_server):
        document = picture_server.localize(json.loads(path.read_text(encoding="utf-8")))
        items = document if isinstance(document, list) else [document]
        results = import_document(json.dumps(document).encode(), Options(), label=path.name)
        assert len(results) == len(items)
        for raw, result in zip(items, results, strict=True):
            assert result.status in ("created", "updated", "skipped"), (result.uri, result.reason)
            kind = str(raw.get("type") or "").lower()
            if kind in ("audio", "video", "event", "planning") or raw.get("eventDetails"):
                assert result.status == "skipped"
                assert "not imported" in result.reason
            elif kind in ("picture", "graphic") or result.kind == "image":  # an untyped item of renditions is a picture
                image = BylineImage.objects.get(pk=result.id)
                assert image.credit or "no credit line" in result.reason
                assert image.width == 64
            else:
                story = latest(result)
                headline = raw.get("headline") or next(h["value"] for h in raw["headlines"])
                assert story.title == headline.strip()[:255]
                assert story.authors or story.story_authors.count()
                assert story.origin is not None and not story.origin.is_own
                assert story.origin.may_republish is False

    def test_a_wire_story_keeps_headline_authors_dateline_and_origin(self, news, picture_server, load_example):
        result = run(picture_server.localize(load_example("2.1/dpa_text.json")))
        story = latest(result)
        assert story.title == "Faktencheck Derby-Elfmeter: Hat Schiedsrichter Zwayer recht?"
        assert [a.author.name for a in story.story_authors.all()] == ["Christian Hollmann"]
        assert story.origin.name == "dpa" and story.origin.kind == Origin.WIRE

        result = run(picture_server.localize(load_example("3.1/007_multimedia.json")))
        story = latest(result)
        assert story.dateline_place == "GROSSETTO, Italy"
        assert [a.author.name for a in story.story_authors.all()] == ["Paulo Santalucia", "Frances d'Emilio"]
        first = str(story.body[0].value)
        assert first.startswith("<p>The trial of the captain"), "the agency's own dateline is not printed twice"
        assert story.lead_image is not None and story.lead_image.credit == "Paulo Santalucia"
        assert "Costa Concordia cruise ship lies on its side" in story.caption

    def test_camel_case_3x_reads_like_2x(self, news, picture_server, load_example):
        two = latest(run(picture_server.localize(load_example("2.1/tt_text_image_2.json"))))
        StoryPage.objects.all().delete()
        WireItem.objects.all().delete()
        three = latest(run(picture_server.localize(load_example("3.0/tt_text_image_3.json"))))
        assert (two.title, two.dek, two.origin_id) == (three.title, three.dek, three.origin_id)
        assert list(two.tags.names()) == list(three.tags.names()) == ["Krig, konflikter och oroligheter"]
        assert three.lead_image.credit == "Karl Melander/TT"
        assert not any("Militärövning i jätteformat" == str(block.value) for block in three.body)

    def test_picture_items_become_images_with_caption_and_credit(self, news, picture_server, load_example):
        result = run(picture_server.localize(load_example("2.1/ap_image.json")))
        assert result.status == "created" and result.kind == "image"
        image = BylineImage.objects.get(pk=result.id)
        assert image.credit == "ASSOCIATED PRESS"
        assert image.default_caption.startswith("FILE - In this Monday, Nov. 11, 2019 file photo")
        assert picture_server.requests[0] == "/picture-1.jpg", "the largest rendition is tried first"

    def test_audio_video_and_events_are_skipped_with_a_reason(self, news, load_example):
        for name in ("2.1/ap_audio.json", "3.0/ap_video.json", "3.1/008_event.json"):
            result = run(load_example(name))
            assert result.status == "skipped" and "not imported" in result.reason
        assert not StoryPage.objects.exists() and not WireItem.objects.exists()


class TestIdentityAndVersions:
    def test_same_uri_again_updates_and_same_content_is_unchanged(self, news):
        first = run(text_item())
        again = run(text_item())
        newer = run(text_item(version="2", headlines=[{"role": "main", "value": "Ferry strike ends"}]))
        assert (first.status, again.status, newer.status) == ("created", "unchanged", "updated")
        assert first.id == again.id == newer.id
        assert StoryPage.objects.count() == 1
        assert latest(newer).title == "Ferry strike ends"

    def test_an_older_version_never_overwrites_a_newer_one(self, news):
        run(text_item(version="3", headlines=[{"role": "main", "value": "Version three"}]))
        older = run(text_item(version="2", headlines=[{"role": "main", "value": "Version two"}]))
        assert older.status == "skipped" and "older" in older.reason
        by_date = run(text_item(version="3", versioncreated="2026-11-19T10:00:00Z",
                                headlines=[{"role": "main", "value": "Earlier edit"}]))
        assert by_date.status == "skipped"
        assert latest(older).title == "Version three"


class TestPublishing:
    def test_drafts_by_default_and_published_with_publish(self, news):
        draft = run(text_item())
        assert StoryPage.objects.get(pk=draft.id).live is False
        assert "draft" in draft.reason
        published = run(text_item(uri="urn:example:wire:2"), publish=True)
        story = StoryPage.objects.get(pk=published.id)
        assert story.live is True
        assert story.first_published_at.isoformat().startswith("2026-11-20T09:00")

    def test_the_url_is_the_readers_page_once_live_and_the_edit_page_before(self, news, settings):
        settings.BYLINE_SITE_URL = "https://news.example.org"
        draft = run(text_item())
        assert draft.url == f"https://news.example.org/admin/pages/{draft.id}/edit/"
        live = run(text_item(version="2"), publish=True)
        assert live.url == "https://news.example.org" + StoryPage.objects.get(pk=live.id).url

    def test_the_command_prints_links_at_the_public_address(self, news, site, settings, tmp_path, capsys):
        """The Site record still says "localhost" and the admin's base is elsewhere: neither may leak into
        the links staff click from the command's output."""
        settings.BYLINE_SITE_URL = "https://news.example.org"
        settings.WAGTAILADMIN_BASE_URL = "https://admin.example.net"
        (tmp_path / "draft.json").write_text(json.dumps(text_item()))
        (tmp_path / "live.json").write_text(json.dumps(text_item(uri="urn:example:wire:2")))

        call_command("import_ninjs", str(tmp_path / "draft.json"))
        call_command("import_ninjs", "--publish", str(tmp_path / "live.json"))

        out = capsys.readouterr().out
        draft, live = (WireItem.objects.get(uri=uri).story for uri in ("urn:example:wire:1", "urn:example:wire:2"))
        assert [word for word in out.split() if "://" in word] == [
            f"https://news.example.org/admin/pages/{draft.pk}/edit/",
            f"https://news.example.org/news/{live.slug}/",
        ]
        assert f" /news/{live.slug}/" not in out and "localhost" not in out

    def test_the_site_setting_publishes_usable_items(self, news, site):
        settings = WireSettings.for_site(site)
        settings.publish_usable = True
        settings.save()
        assert StoryPage.objects.get(pk=run(text_item()).id).live is True

    def test_canceled_or_withheld_unpublishes(self, news):
        result = run(text_item(), publish=True)
        withdrawn = run(text_item(version="2", pubstatus="canceled"), publish=True)
        assert withdrawn.status == "updated" and "withdrawn" in withdrawn.reason
        assert StoryPage.objects.get(pk=result.id).live is False
        never_had = run(text_item(uri="urn:example:other", pubstatus="withheld"))
        assert never_had.status == "skipped"

    def test_embargoed_items_are_scheduled(self, news):
        embargo = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
        result = run(text_item(embargoed=embargo.isoformat()), publish=True)
        story = StoryPage.objects.get(pk=result.id)
        assert story.live is False
        assert story.go_live_at == embargo
        assert story.get_latest_revision().approved_go_live_at == embargo
        assert "scheduled" in result.reason


class TestMapping:
    def test_fields(self, news):
        story = latest(run(text_item()))
        assert story.dek == "Crews return on Monday with a new contract."
        assert story.dateline_place == "PORT ALDER, Maine"
        assert [a.author.name for a in story.story_authors.all()] == ["Ada Quill", "Tomas Brand"]
        assert sorted(story.tags.names()) == ["Labor", "Transport"]
        body = "".join(str(block.value) for block in story.body)
        assert body.startswith("<p>The ferry crews voted to return.</p>")
        assert "<b>212 to 40</b>" in body and 'href="https://example.org/vote"' in body

    def test_origin_is_created_as_a_wire_service_whose_stories_may_not_travel(self, news, site):
        story = StoryPage.objects.get(pk=run(text_item(), publish=True).id)
        assert story.origin.name == "Harbor Wire" and story.origin.kind == Origin.WIRE
        decision = is_republishable(story, RepublishingPolicy.for_site(site))
        assert decision.eligible is False and decision.rule == "origin"
        assert "Harbor Wire" in decision.reason

    def test_known_authors_and_origins_are_reused(self, news):
        run(text_item())
        run(text_item(uri="urn:example:wire:2"))
        assert Origin.objects.filter(name="Harbor Wire").count() == 1
        from stories.models import Author

        assert Author.objects.filter(name="Ada Quill").count() == 1

    def test_a_plain_text_body_becomes_paragraphs(self, news):
        item = text_item(bodies=[{"contenttype": "text/plain", "value": "First <b>line</b>.\n\nSecond line."}])
        story = latest(run(item))
        assert [str(block.value) for block in story.body] == [
            "<p>First &lt;b&gt;line&lt;/b&gt;.</p>", "<p>Second line.</p>",
        ]

    def test_without_an_origin_the_token_or_an_unnamed_wire_origin_stands(self, news):
        item = text_item()
        del item["copyrightholder"]
        agency = Origin.objects.create(name="Bay Agency", kind=Origin.WIRE)
        assert latest(run(item, origin=agency)).origin == agency
        unnamed = latest(run(text_item(uri="urn:x:2", copyrightholder=None) | {"copyrightholder": "Harbor Wire"}))
        assert unnamed.origin.name == "Harbor Wire"


class TestPictures:
    def test_a_failed_fetch_imports_the_story_without_its_image_and_says_so(self, news, picture_server):
        item = text_item(associations=[{
            "name": "main", "type": "picture", "uri": "urn:example:pic:1",
            "renditions": [{"name": "big", "href": f"{picture_server.url}/missing.jpg", "contenttype": "image/jpeg"},
                           {"name": "small", "href": f"{picture_server.url}/text.jpg", "contenttype": "image/jpeg"}],
        }])
        result = run(item)
        assert result.status == "created"
        assert "picture urn:example:pic:1 not imported" in result.reason
        assert "HTTP 404" in result.reason and "not an image" in result.reason
        assert latest(result).lead_image is None

    def test_pictures_from_private_addresses_are_refused_unless_allowed(self, news, settings):
        settings.FETCH_ALLOW_HOSTS = []
        item = text_item(associations=[{
            "name": "main", "type": "picture", "uri": "urn:example:pic:2",
            "renditions": [{"name": "main", "href": "http://127.0.0.1:9/secret.jpg", "contenttype": "image/jpeg"}],
        }])
        result = run(item)
        assert result.status == "created" and "loopback" in result.reason

    def test_a_picture_already_imported_is_not_fetched_again(self, news, picture_server):
        association = {"name": "main", "type": "picture", "uri": "urn:example:pic:3", "by": "Lena Ortiz",
                       "renditions": [
                           {"name": "main", "href": f"{picture_server.url}/a.jpg", "contenttype": "image/jpeg"},
                       ]}
        first = latest(run(text_item(associations=[association])))
        second = latest(run(text_item(uri="urn:example:wire:9", associations=[association])))
        assert first.lead_image_id == second.lead_image_id
        assert picture_server.requests == ["/a.jpg"]
        assert first.lead_image.credit == "Lena Ortiz"


class TestCommand:
    def test_files_directories_and_standard_input(self, news, tmp_path, monkeypatch, capsys):
        folder = tmp_path / "feed" / "today"
        folder.mkdir(parents=True)
        (folder / "one.json").write_text(json.dumps(text_item()))
        (tmp_path / "two.json").write_text(json.dumps([text_item(uri="urn:a"), text_item(uri="urn:b")]))
        call_command("import_ninjs", str(tmp_path / "feed"), str(tmp_path / "two.json"), "--json")
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [line["status"] for line in lines] == ["created"] * 3
        assert set(lines[0]) == {"uri", "status", "id", "url", "reason", "agency"}
        assert lines[0]["agency"] == "Harbor Wire", "without --agency, the agency the item names"

        stdin = io.TextIOWrapper(io.BytesIO(json.dumps(text_item(uri="urn:c")).encode()))
        monkeypatch.setattr("sys.stdin", stdin)
        call_command("import_ninjs", "-", "--json", "--publish")
        line = json.loads(capsys.readouterr().out)
        assert line["status"] == "created" and StoryPage.objects.get(pk=line["id"]).live

    def test_a_bad_item_is_named_and_the_batch_goes_on_then_exits_non_zero(self, news, tmp_path, capsys):
        bad = {"uri": "urn:bad", "type": "text", "headlines": [{"role": "main", "value": 42}]}
        (tmp_path / "batch.json").write_text(json.dumps([bad, text_item(uri="urn:good")]))
        (tmp_path / "broken.json").write_text("{not json")
        with pytest.raises(CommandError, match="2 item"):
            call_command("import_ninjs", str(tmp_path))
        captured = capsys.readouterr()
        assert "batch.json item 1: invalid against the ninjs 2.2 schema: headlines/0/value" in captured.err
        assert "broken.json: invalid JSON" in captured.err
        assert "1 created" in captured.out
        assert StoryPage.objects.filter(title="Ferry strike ends after nine days").count() == 1
        assert not WireItem.objects.filter(uri="urn:bad").exists()

    def test_missing_files_and_headlines_are_clear_errors(self, news, tmp_path, capsys):
        (tmp_path / "nohead.json").write_text(json.dumps({"uri": "urn:x", "type": "text", "bodies": [{"value": "x"}]}))
        with pytest.raises(CommandError):
            call_command("import_ninjs", str(tmp_path / "nohead.json"), str(tmp_path / "absent.json"))
        err = capsys.readouterr().err
        assert "a text item without a headline" in err
        assert "absent.json: cannot be read" in err

    def test_the_samples_import_then_update(self, news, capsys):
        from pathlib import Path

        samples = Path(__file__).resolve().parents[1] / "samples"
        call_command("import_ninjs", "--json", str(samples / "bay-wire-ferry-vote.json"))
        call_command("import_ninjs", "--json", str(samples / "bay-wire-ferry-vote-update.json"))
        first, update = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert (first["status"], update["status"], first["id"]) == ("created", "updated", update["id"])
        story = StoryPage.objects.get(pk=first["id"]).get_latest_revision_as_object()
        assert story.title.endswith("first boat sails Monday")
        assert [a.author.name for a in story.story_authors.all()] == ["Odile Marchetti"]
        assert story.dateline == "PORT ALDER (Bay Wire) —"
