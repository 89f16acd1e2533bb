"""Content-Security-Policy: the strict public policy on every public page (also when the page cache answers),
the admin's own looser policy on /admin/ and /django-admin/, and sources that match what pages really load."""

import base64
import hashlib

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from storages.backends.s3 import S3Storage
from wagtail.embeds.finders import get_finders

from byline.edge import PageCache
from byline.settings.base import EMBED_FRAME_SOURCES, csp_media_sources, media_storage_from_env
from byline.tests.test_edge import Django, call
from republish.handout import PIXEL_STYLE
from stories.factories import SectionPageFactory, StoryPageFactory

pytestmark = pytest.mark.django_db

PUBLIC = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
    "frame-src": EMBED_FRAME_SOURCES,
}


# The one style attribute public pages allow: the handout pixel's, parsed in our page when copied as text/html.
PIXEL_STYLE_HASH = base64.b64encode(hashlib.sha256(PIXEL_STYLE.encode()).digest()).decode()


def directives(header):
    assert header, "no Content-Security-Policy header"
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        assert name not in parsed, f"{name} twice"
        parsed[name] = values
    return parsed


def assert_public_policy(header):
    policy = directives(header)
    for name, values in PUBLIC.items():
        assert policy[name] == values, name
    assert policy["img-src"][:2] == ["'self'", "data:"]
    assert policy["style-src-attr"] == ["'unsafe-hashes'", f"'sha256-{PIXEL_STYLE_HASH}'"]
    assert not any("nonce-" in value or "unsafe-inline" in value or "unsafe-eval" in value
                   for values in policy.values() for value in values)
    assert "script-src-attr" not in policy and "script-src-elem" not in policy


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news, title="Harbor cleanup begins", slug="harbor-cleanup-begins")


@pytest.fixture
def public_urls(home, news, story):
    culture = SectionPageFactory(parent=home, title="Culture", slug="culture")
    StoryPageFactory(parent=culture)
    return {"home": home.url, "section": culture.url, "story": story.url, "republish": f"/republish/{story.pk}/"}


@pytest.mark.parametrize("kind", ["home", "section", "story", "republish"])
def test_public_pages_carry_the_strict_policy(client, public_urls, kind):
    response = client.get(public_urls[kind])
    assert response.status_code == 200
    assert_public_policy(response["Content-Security-Policy"])
    assert "Content-Security-Policy-Report-Only" not in response


def test_the_story_page_has_no_inline_script_but_its_json_ld(client, story):
    """The policy holds because nothing inline needs it to bend: JSON-LD is data, which CSP does not block."""
    html = client.get(story.url).content.decode()
    scripts = html.split("<script")[1:]
    assert scripts
    for script in scripts:
        opening, _, rest = script.partition(">")
        if 'type="application/ld+json"' in opening:
            continue
        assert " src=" in opening and rest.startswith("</script>"), f"inline script: <script{opening}>"
    assert " style=" not in html and "<style" not in html
    assert " onclick=" not in html and " onload=" not in html


def test_the_page_cache_keeps_the_policy(story):
    django = Django()
    edge = PageCache(django, local_seconds=0)
    first = call(edge, story.url)
    second = call(edge, story.url)
    assert (first.x_cache, second.x_cache, django.calls) == ("MISS", "HIT", 1)
    assert second.header("Content-Security-Policy") == first.header("Content-Security-Policy")
    assert_public_policy(second.header("Content-Security-Policy"))


@pytest.mark.parametrize("path", ["/admin/", "/admin/pages/", "/django-admin/"])
def test_the_admins_have_their_own_policy(client, site, path):
    editor = get_user_model().objects.create_superuser("editor", "editor@newsroom.example", "pw")
    client.force_login(editor)
    response = client.get(path)
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'self'"], "Wagtail's preview frames the admin"
    assert not any("nonce-" in value for values in policy.values() for value in values), \
        "a nonce would make browsers ignore 'unsafe-inline'"


def test_the_admin_login_page_has_the_admin_policy_too(client, site):
    policy = directives(client.get("/admin/login/")["Content-Security-Policy"])
    assert "'unsafe-inline'" in policy["script-src"]


def test_a_path_that_only_starts_like_admin_is_public(client, site):
    response = client.get("/administration/")  # a 404 page of the public site
    assert_public_policy(response["Content-Security-Policy"])


def test_the_embed_finders_match_the_frames_allowed():
    """Editors can only embed from the providers whose players frame-src lets through."""
    [finder] = get_finders()
    for url in ["https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://vimeo.com/76979871",
                "https://soundcloud.com/harborledger/episode-1", "https://open.spotify.com/episode/abc123"]:
        assert finder.accept(url), url
    for url in ["https://www.flickr.com/photos/ledger/123/", "https://www.slideshare.net/ledger/deck",
                "https://www.tiktok.com/@ledger/video/1"]:
        assert not finder.accept(url), url
    assert settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["frame-src"] == [
        "https://www.youtube.com", "https://player.vimeo.com", "https://w.soundcloud.com", "https://open.spotify.com",
    ]


MEDIA_VARIABLES = [
    "BYLINE_MEDIA_BUCKET", "BYLINE_MEDIA_ENDPOINT_URL", "BYLINE_MEDIA_REGION", "BYLINE_MEDIA_CUSTOM_DOMAIN",
    "BYLINE_MEDIA_LOCATION", "BYLINE_MEDIA_QUERYSTRING_AUTH", "BYLINE_MEDIA_ACCESS_KEY_ID",
    "BYLINE_MEDIA_SECRET_ACCESS_KEY",
]


@pytest.mark.parametrize("variables", [
    {"BYLINE_MEDIA_BUCKET": "ledger-media"},
    {"BYLINE_MEDIA_BUCKET": "ledger-media", "BYLINE_MEDIA_REGION": "eu-central-1"},
    {"BYLINE_MEDIA_BUCKET": "media.harborledger.org", "BYLINE_MEDIA_REGION": "eu-central-1"},
    {"BYLINE_MEDIA_BUCKET": "ledger-media", "BYLINE_MEDIA_ENDPOINT_URL": "https://s3.garage.internal:3900"},
    {"BYLINE_MEDIA_BUCKET": "ledger-media", "BYLINE_MEDIA_ENDPOINT_URL": "https://abc123.r2.cloudflarestorage.com",
     "BYLINE_MEDIA_CUSTOM_DOMAIN": "media.harborledger.org"},
    {"BYLINE_MEDIA_BUCKET": "ledger-media", "BYLINE_MEDIA_CUSTOM_DOMAIN": "http://127.0.0.1:9000/ledger-media/"},
    {"BYLINE_MEDIA_BUCKET": "ledger-media", "BYLINE_MEDIA_LOCATION": "ledger",
     "BYLINE_MEDIA_CUSTOM_DOMAIN": "cdn.harborledger.org"},
    {"BYLINE_MEDIA_BUCKET": "ledger-media", "BYLINE_MEDIA_QUERYSTRING_AUTH": "1", "BYLINE_MEDIA_REGION": "us-west-2",
     "BYLINE_MEDIA_ACCESS_KEY_ID": "LEDGERKEY", "BYLINE_MEDIA_SECRET_ACCESS_KEY": "ledger-secret"},
], ids=["aws", "aws-region", "aws-dotted", "endpoint", "custom-domain", "custom-domain-with-path", "location",
        "signed"])
def test_img_src_allows_the_origin_the_media_storage_builds(monkeypatch, variables):
    for name in MEDIA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    config = media_storage_from_env()
    url = S3Storage(**config["OPTIONS"]).url("original_images/harbor.jpg")
    [source] = csp_media_sources(config)
    assert url.startswith(source + "/"), (url, source)


def test_local_media_needs_no_other_source():
    assert csp_media_sources({"BACKEND": "django.core.files.storage.FileSystemStorage"}) == []
