"""The pixel answers every request at once with the same GIF, and records what it learned, privately."""

import hmac
from datetime import date
from urllib.parse import unquote_plus

import pytest

from republish.pixel import pixel_path, sign
from stories.factories import StoryPageFactory
from tracking import filters
from tracking.hits import _unquote_plus
from tracking.models import Copy, Hit
from tracking.pixel import GIF
from tracking.visitors import _keyed_sha256, client_ip, salt_for, visitor_key

from .helpers import BROWSER, request

pytestmark = pytest.mark.django_db
PARTNER = "https://partner.example/2026/11/harbor-cleanup/"


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news)


def only_hit():
    (hit,) = Hit.objects.all()
    return hit


@pytest.mark.parametrize("path,query", [
    ("{good}", ""),
    ("/pixel/{id}/html/0000000000000000.gif", ""),
    ("/pixel/999999/html/{sig999999}.gif", ""),
    ("/pixel/{id}/html/{sig}.png", ""),
    ("/pixel/../../etc/passwd", ""),
    ("/pixel/%00%ff<script>", "url=javascript:alert(1)&url=" + "x" * 5000),
    ("/pixel/", "a=" + "&b=" * 200),
    ("{good}", "url=https://partner.example/" + "&x=1" * 500),
    ("{good}", "url=%ff%fe%00"),
])
def test_every_input_gets_the_43_byte_gif_uncached_and_without_cookies(pixel_app, story, path, query):
    path = path.format(good=pixel_path(story.pk), id=story.pk, sig=sign(story.pk), sig999999=sign(999999))
    response = request(pixel_app, path, query=query, referer="not a url at all \x00")
    assert response.status_code == 200
    assert response.body == GIF and len(GIF) == 43
    assert response.header("Content-Type") == "image/gif"
    assert "no-store" in response.header("Cache-Control")
    assert response.header("Set-Cookie") is None
    assert Hit.objects.count() == 1


def test_head_gets_headers_and_records_nothing(pixel_app, story):
    response = request(pixel_app, pixel_path(story.pk), method="HEAD")
    assert response.status_code == 200 and response.body == b""
    assert Hit.objects.count() == 0


def test_other_paths_go_on_to_the_site(pixel_app):
    assert request(pixel_app, "/news/").status_code == 404


def test_a_forged_signature_is_recorded_as_filtered(pixel_app, story):
    request(pixel_app, f"/pixel/{story.pk}/html/{sign(story.pk + 1)}.gif", referer=PARTNER)
    assert only_hit().filtered == filters.FORGED


def test_a_path_we_never_build_is_malformed(pixel_app):
    request(pixel_app, "/pixel/anything.gif")
    assert only_hit().filtered == filters.MALFORMED


def test_the_copy_is_the_page_url_the_script_reports_before_the_referrer(pixel_app, story):
    page = "HTTPS://Partner.Example:443/2026/11/harbor-cleanup/?utm_source=x&id=7&fbclid=abc#comments"
    request(pixel_app, pixel_path(story.pk, "script"), query=f"url={page.replace('&', '%26').replace('#', '%23')}",
            referer="https://partner.example/")
    assert only_hit().copy == "https://partner.example/2026/11/harbor-cleanup/?id=7"


@pytest.mark.parametrize("value", [
    "https%3A%2F%2Fpartner.example%2Fa%2Fb", "https%3a%2f%2fpartner.example%2fa", "https%253A%2F%2Fx",
    "a+b%2Bc", "%E2%82%AC%2F", "%%3A", "50%", "%2", "%zz%3A", "plain"])
def test_the_reported_address_is_decoded_as_any_query_string_would_be(value):
    assert _unquote_plus(value) == unquote_plus(value)


def test_control_characters_in_a_reported_address_are_stored_percent_encoded(pixel_app, story):
    # PostgreSQL refuses a NUL in text: stored raw, one such hit would hold up every hit after it.
    request(pixel_app, pixel_path(story.pk, "script"), query="url=https%3A%2F%2Fpartner.example%2Fa%00b%01c%7Fd")
    assert only_hit().copy == "https://partner.example/a%00b%01c%7Fd"


def test_the_copy_falls_back_to_the_referrer_full_url_or_origin(pixel_app, story):
    request(pixel_app, pixel_path(story.pk), referer=PARTNER + "?gclid=1")
    request(pixel_app, pixel_path(story.pk), referer="https://other.example/", ip="198.51.100.1")
    assert sorted(Hit.objects.values_list("copy", flat=True)) == [
        "https://other.example", "https://partner.example/2026/11/harbor-cleanup/",
    ]


def test_our_own_pages_count_as_our_site(pixel_app, story, settings):
    settings.WAGTAILADMIN_BASE_URL = "https://ledger.example"
    request(pixel_app, pixel_path(story.pk, "site"), referer="https://ledger.example/news/story/")
    assert only_hit().copy == Copy.OUR_SITE


def test_a_partner_cannot_pass_its_copy_off_as_our_site(pixel_app, story, settings):
    settings.WAGTAILADMIN_BASE_URL = "https://ledger.example"
    request(pixel_app, pixel_path(story.pk, "site"), referer=PARTNER)
    assert only_hit().copy == PARTNER


@pytest.mark.parametrize("headers,user_agent,referer,reason", [
    ({}, "", PARTNER, filters.NO_USER_AGENT),
    ({}, "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", PARTNER, filters.BOT),
    ({}, "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", PARTNER, filters.BOT),
    ({}, "python-requests/2.32.3", PARTNER, filters.BOT),
    ({}, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 "
         "Safari/537.36", PARTNER, filters.BOT),
    ({}, "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
     PARTNER, filters.BOT),
    ({}, "Googlebot-Image/1.0", PARTNER, filters.BOT),
    ({"HTTP_SEC_PURPOSE": "prefetch;prerender"}, BROWSER, PARTNER, filters.PREFETCH),
    ({"HTTP_PURPOSE": "prefetch"}, BROWSER, PARTNER, filters.PREFETCH),
    ({}, BROWSER, "https://partner.example/wp-admin/post.php?post=12&action=edit", filters.PARTNER_PREVIEW),
    ({}, BROWSER, "https://partner.example/?p=12&preview=true", filters.PARTNER_PREVIEW),
])
def test_non_readers_are_filtered_with_their_reason(pixel_app, story, headers, user_agent, referer, reason):
    request(pixel_app, pixel_path(story.pk), headers=headers, user_agent=user_agent, referer=referer)
    assert only_hit().filtered == reason


def test_a_visitor_reloading_in_a_loop_is_capped(pixel_app, story, monkeypatch):
    monkeypatch.setattr("tracking.hits.rate_cap", filters.RateCap(limit=3))
    for _ in range(5):
        request(pixel_app, pixel_path(story.pk), referer=PARTNER)
    filtered = list(Hit.objects.order_by("id").values_list("filtered", flat=True))
    assert filtered == ["", "", "", "rate-limit", "rate-limit"]


def test_no_address_user_agent_or_cookie_is_stored(pixel_app, story):
    request(pixel_app, pixel_path(story.pk), referer=PARTNER, ip="203.0.113.99",
            headers={"HTTP_COOKIE": "sessionid=not-hex-secret"})  # a visitor key is hex: "abc" could be in one
    hit = only_hit()
    stored = " ".join(str(value) for value in Hit.objects.values().get().values())
    assert "203.0.113.99" not in stored and "Chrome" not in stored and "not-hex-secret" not in stored
    assert len(hit.visitor) == 16


def test_visitor_keys_differ_by_address_browser_and_site_and_stay_stable_within_a_day(pixel_app, story):
    path = pixel_path(story.pk)
    request(pixel_app, path, referer=PARTNER, ip="203.0.113.1")
    request(pixel_app, path, referer=PARTNER, ip="203.0.113.1")
    request(pixel_app, path, referer=PARTNER, ip="203.0.113.2")
    request(pixel_app, path, referer=PARTNER, ip="203.0.113.1", user_agent=BROWSER + " Edg/131.0")
    request(pixel_app, path, referer="https://another.example/copy/", ip="203.0.113.1")
    keys = list(Hit.objects.order_by("id").values_list("visitor", flat=True))
    assert keys[0] == keys[1] and len(set(keys)) == 4


def test_a_visitor_key_is_the_hmac_sha256_of_the_days_salt_over_address_browser_and_site(story):
    day = date(2026, 12, 4)
    salt = salt_for(day)
    expected = hmac.new(salt.encode(), f"203.0.113.1\n{BROWSER}\npartner.example".encode(), "sha256").hexdigest()
    assert visitor_key("203.0.113.1", BROWSER, "partner.example", day) == expected[:16]


@pytest.mark.parametrize("key", [b"", b"short", b"k" * 64, b"long" * 40])
def test_the_pre_keyed_hmac_matches_the_standard_library_for_any_key_length(key):
    inner, outer = _keyed_sha256(key)
    inner.update(b"message")
    outer.update(inner.digest())
    assert outer.hexdigest() == hmac.new(key, b"message", "sha256").hexdigest()


def test_forwarded_addresses_are_believed_only_from_our_proxies(pixel_app, story, settings):
    path = pixel_path(story.pk)
    spoof = {"HTTP_X_FORWARDED_FOR": "192.0.2.50"}
    request(pixel_app, path, referer=PARTNER, ip="203.0.113.1", headers=spoof)
    request(pixel_app, path, referer=PARTNER, ip="203.0.113.1", headers={"HTTP_X_FORWARDED_FOR": "192.0.2.51"})
    untrusted = list(Hit.objects.order_by("id").values_list("visitor", flat=True))
    assert untrusted[0] == untrusted[1]  # the header was ignored: same address, same key

    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    request(pixel_app, path, referer=PARTNER, ip="10.1.1.1", headers={"HTTP_X_FORWARDED_FOR": "192.0.2.60, 10.2.2.2"})
    request(pixel_app, path, referer=PARTNER, ip="10.1.1.1", headers={"HTTP_X_FORWARDED_FOR": "192.0.2.61"})
    proxied = list(Hit.objects.order_by("id").values_list("visitor", flat=True))[2:]
    assert proxied[0] != proxied[1]


def test_the_readers_address_follows_the_trusted_proxies_setting_as_it_changes(settings):
    through_proxy = {"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7, 10.2.2.2"}
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(through_proxy) == "198.51.100.7"  # the proxies' own addresses skipped
    settings.TRUSTED_PROXIES = ["10.1.1.1"]  # the second hop no longer ours: it is the nearest untrusted one
    assert client_ip(through_proxy) == "10.2.2.2"
    settings.TRUSTED_PROXIES = ["192.168.0.0/16"]
    assert client_ip(through_proxy) == "10.1.1.1"
    settings.TRUSTED_PROXIES = []
    assert client_ip(through_proxy) == "10.1.1.1"
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    garbled = {"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "not an address, 10.2.2.2"}
    assert client_ip(garbled) == "not an address"
    assert client_ip({"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "10.3.3.3"}) == "10.1.1.1"


def test_a_peer_on_a_unix_socket_is_trusted_as_our_proxy_only_when_proxies_are_configured(settings):
    # granian on a Unix socket hands over no peer address: only nginx, allowed to open the socket, gets there.
    over_socket = {"REMOTE_ADDR": "", "HTTP_X_FORWARDED_FOR": "198.51.100.7, 127.0.0.1"}
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(over_socket) == "198.51.100.7"
    settings.TRUSTED_PROXIES = []
    assert client_ip(over_socket) == ""
