"""What partners and readers get from the box, the republish page and the JSON endpoint."""

import pytest
from django.core.handlers.wsgi import WSGIHandler
from wagtail.models import PageViewRestriction

from byline.edge import PageCache
from byline.tests.test_edge import call
from republish import offer
from stories.factories import OriginFactory, StoryPageFactory
from stories.models import Origin

pytestmark = pytest.mark.django_db


def test_json_gives_partners_everything_they_need(client, news):
    story = StoryPageFactory(parent=news)
    data = client.get(f"/republish/{story.pk}.json").json()
    assert set(data) == {"eligible", "reason", "policy", "license", "html", "head", "text", "script", "canonical_url",
                         "version", "corrections"}
    assert data["version"] == 1 and data["corrections"] == []
    assert data["eligible"] is True
    assert data["license"] == {"name": "CC BY-ND 4.0", "url": "https://creativecommons.org/licenses/by-nd/4.0/"}
    assert data["canonical_url"] == story.full_url
    assert data["html"].startswith(f"<h1>{story.title}</h1>") and "/pixel/" in data["html"]
    assert "noindex" in data["head"] and data["text"].startswith(story.title)
    assert "guidelines" in data["policy"] and data["policy"]["requires_noindex"] is True


def test_json_for_a_wire_story_gives_the_reason_and_no_handout(client, news):
    wire = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA", kind=Origin.WIRE)
    story = StoryPageFactory(parent=news, origin=wire)
    data = client.get(f"/republish/{story.pk}.json").json()
    assert data["eligible"] is False
    assert data["reason"] == "This story originated with JTA and is not available for republishing."
    assert data["html"] is None and data["head"] is None and data["text"] is None and data["script"] is None


def test_drafts_private_and_unknown_stories_are_404(client, news):
    draft = StoryPageFactory(parent=news, live=False)
    private = StoryPageFactory(parent=news)
    PageViewRestriction.objects.create(page=private, restriction_type=PageViewRestriction.LOGIN)
    for story_id in (draft.pk, private.pk, 999999):
        assert client.get(f"/republish/{story_id}.json").status_code == 404
        assert client.get(f"/republish/{story_id}/").status_code == 404


def test_the_story_page_ends_with_the_box_the_yellow_button_and_the_dialog(client, news):
    story = StoryPageFactory(parent=news)
    html = client.get(story.url).content.decode()
    box = html[html.index('class="republish-box"'):]
    assert "Republish This Story" in box
    assert f'<a class="republish-button" href="/republish/{story.pk}/" data-republish-open="republish-dialog">' in box
    assert ('<dialog id="republish-dialog" class="republish-dialog" aria-labelledby="republish-dialog-title" '
            f'data-handout-url="/republish/{story.pk}.json">') in box
    assert "Copy HTML" in box and "Copy head snippet" in box and "Copy text" in box


def test_the_story_page_leaves_the_handout_to_the_dialog_which_fetches_it_as_it_opens(client, news):
    story = StoryPageFactory(parent=news)
    html = client.get(story.url).content.decode()
    handout = client.get(f"/republish/{story.pk}.json").json()
    assert "/pixel/" in handout["html"] and "/pixel/" + str(story.pk) + "/html/" not in html
    assert "This story was originally published by" not in html


def test_the_story_page_decides_whether_the_story_may_travel_once(client, news, monkeypatch):
    asked = []
    decide = offer.is_republishable
    monkeypatch.setattr(offer, "is_republishable", lambda *args, **kwargs: asked.append(1) or decide(*args, **kwargs))
    story = StoryPageFactory(parent=news)
    response = client.get(story.url)
    assert response.status_code == 200 and "republish-button" in response.content.decode()
    assert len(asked) == 1, "the footer's promise and the box at the end read one decision"


def test_publishing_a_story_again_purges_its_cached_republish_page_and_json(news):
    story = StoryPageFactory(parent=news, title="Harbor cleanup begins")
    app = PageCache(WSGIHandler(), local_seconds=0)
    paths = (f"/republish/{story.pk}.json", f"/republish/{story.pk}/")
    for path in paths:
        call(app, path)
        assert call(app, path).x_cache == "HIT"

    story.title = "Harbor cleanup begins at dawn"
    story.save_revision().publish()

    for path in paths:
        response = call(app, path)
        assert response.x_cache == "MISS" and "Harbor cleanup begins at dawn" in response.text


def test_a_story_that_may_not_travel_shows_the_reason_and_no_button(client, news):
    wire = OriginFactory(name="Haaretz", short_name="", kind=Origin.PARTNER)
    story = StoryPageFactory(parent=news, origin=wire)
    html = client.get(story.url).content.decode()
    assert "This story originated with Haaretz and is not available for republishing." in html
    assert "republish-button" not in html and "<dialog" not in html


def test_republish_page_carries_canonical_and_noindex_in_its_own_head(client, news):
    story = StoryPageFactory(parent=news)
    html = client.get(f"/republish/{story.pk}/").content.decode()
    head = html[: html.index("</head>")]
    assert f'<link rel="canonical" href="{story.full_url}">' in head
    assert '<meta name="robots" content="noindex, nofollow">' in head
    assert "Copy HTML" in html and "CC BY-ND 4.0" in html


def test_editors_see_the_decision_on_the_story_republishing_tab(client, news, django_user_model):
    wire = OriginFactory(name="Meridian News Agency", short_name="MNA", kind=Origin.WIRE)
    story = StoryPageFactory(parent=news, origin=wire)
    editor = django_user_model.objects.create_superuser("editor", "editor@example.org", "pw")
    client.force_login(editor)
    html = client.get(f"/admin/pages/{story.pk}/edit/").content.decode()
    assert "Partners may not republish this story now." in html
    assert "This story originated with MNA and is not available for republishing." in html
