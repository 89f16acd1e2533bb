"""The admin shows no avatar fetched from an outside service: an avatar service would learn, from every
page an editor opens, who works in the newsroom's admin and when (issue #18)."""

import pytest
from django.contrib.auth import get_user_model
from wagtail.users.utils import get_gravatar_url

pytestmark = pytest.mark.django_db


def test_no_avatar_address_is_made_for_an_editors_email(settings):
    assert settings.WAGTAIL_GRAVATAR_PROVIDER_URL is None
    assert get_gravatar_url("rosa@ledger.example") is None


def test_admin_pages_load_no_avatar_from_elsewhere(client, site):
    editor = get_user_model().objects.create_superuser("rosa", "rosa@ledger.example", "pw")
    client.force_login(editor)
    for url in ("/admin/", "/admin/account/"):
        html = client.get(url).content.decode()
        assert "gravatar" not in html.lower(), url
    assert "www.gravatar.com" not in client.get("/admin/")["Content-Security-Policy"]
