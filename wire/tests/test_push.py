"""Agencies push ninjs to /api/wire/ninjs with a token editors create and revoke in the Wire desk."""

import json

import pytest
from django.urls import reverse

from stories.factories import OriginFactory
from stories.models import Origin, StoryPage
from wire.factories import AgencyTokenFactory, text_item
from wire.models import AgencyToken

pytestmark = pytest.mark.django_db
PUSH = "/api/wire/ninjs"


@pytest.fixture
def agency(news):
    """Bay Agency's token ("Bay Agency feed") and its secret."""
    token = AgencyTokenFactory(origin=OriginFactory(name="Bay Agency", short_name="BA"))
    return token, token.secret


def push(client, body, secret=None, content_type="application/json"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(PUSH, data=data, content_type=content_type, **headers)


def test_a_new_item_is_201_with_the_story_id_and_url_and_the_same_again_is_200(client, agency):
    _, secret = agency
    created = push(client, text_item(), secret)
    assert created.status_code == 201
    (entry,) = created.json()["items"]
    assert entry["status"] == "created" and entry["url"]
    assert StoryPage.objects.filter(pk=entry["id"]).exists()

    again = push(client, text_item(), secret)
    assert again.status_code == 200 and again.json()["items"][0]["status"] == "unchanged"
    newer = push(client, [text_item(version="2", headlines=[{"role": "main", "value": "Ferry strike over"}])], secret)
    assert newer.status_code == 200 and newer.json()["items"][0] == {**entry, "status": "updated",
                                                                      "reason": newer.json()["items"][0]["reason"]}


def test_the_tokens_agency_is_the_origin_whatever_the_item_names(client, agency):
    token, secret = agency
    unnamed = text_item(uri="urn:unnamed")
    del unnamed["copyrightholder"]
    items = push(client, [unnamed, text_item()], secret).json()["items"]
    origins = [StoryPage.objects.get(pk=entry["id"]).get_latest_revision_as_object().origin.name for entry in items]
    assert origins == ["Bay Agency", "Bay Agency"]
    assert [entry["agency"] for entry in items] == ["Bay Agency", "Bay Agency"]
    assert not Origin.objects.filter(name="Harbor Wire").exists(), "what an item names creates no origin either"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_without_a_valid_token_nothing_is_imported(client, agency):
    token, secret = agency
    missing = push(client, text_item())
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert push(client, text_item(), "bylw_not-a-token").status_code == 401
    token.revoke()
    revoked = push(client, text_item(), secret)
    assert revoked.status_code == 403 and "revoked" in revoked.json()["error"]
    assert not StoryPage.objects.exists()


def test_validation_errors_are_400_and_the_whole_batch_waits(client, agency):
    _, secret = agency
    bad = {"uri": "urn:bad", "type": "text", "headlines": [{"role": "main", "value": 7}]}
    answer = push(client, [text_item(), bad], secret)
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["index"] == 1 and error["uri"] == "urn:bad" and "headlines/0/value" in error["error"]
    assert not StoryPage.objects.exists()
    assert push(client, b"{oops", secret).status_code == 400


def test_size_type_and_method_limits(client, agency, settings):
    _, secret = agency
    settings.WIRE_PUSH_MAX_BYTES = 100
    assert push(client, text_item(), secret).status_code == 413
    settings.WIRE_PUSH_MAX_BYTES = 5_000_000
    assert push(client, "uri=x", secret, content_type="application/x-www-form-urlencoded").status_code == 415
    assert client.get(PUSH).status_code == 405


def test_editors_create_a_token_shown_once_and_revoke_it(admin_client, news):
    origin = Origin.objects.create(name="Bay Agency", kind=Origin.WIRE)
    desk = reverse("wire_desk:desk")
    assert admin_client.get(desk).status_code == 200
    answer = admin_client.post(desk, {"name": "Bay feed", "origin": origin.pk})
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    secret = answer.context["secret"]["value"]
    assert secret.startswith("bylw_") and secret in answer.content.decode()
    token = AgencyToken.objects.get()
    assert token.token_hash != secret and secret not in admin_client.get(desk).content.decode()
    assert AgencyToken.find(secret) == token

    admin_client.post(desk, {"revoke": token.pk})
    token.refresh_from_db()
    assert not token.is_active


def test_editors_without_the_permission_cannot_make_tokens(client, news, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="ed", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    desk = reverse("wire_desk:desk")
    assert client.get(desk).status_code == 200
    assert "New token" not in client.get(desk).content.decode()
    origin = Origin.objects.create(name="Bay Agency", kind=Origin.WIRE)
    refused = client.post(desk, {"name": "x", "origin": origin.pk})
    assert refused.status_code == 302  # Wagtail's answer to PermissionDenied: back to the dashboard
    assert not AgencyToken.objects.exists()
