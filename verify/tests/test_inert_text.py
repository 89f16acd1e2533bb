"""Issue #17, finding 7: bidirectional overrides, zero-width and control characters in copy URLs, hosts and
partners' text are shown inert, escaped and visibly marked, on the Readers and Copies pages."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from byline import fetch
from byline.sanitize import visible_controls
from stories.templatetags.byline_tags import inert
from tracking.counting import count_all_new_hits
from tracking.factories import CopyFactory, hit
from tracking.models import Copy
from verify.factories import VerificationFactory
from verify.models import Verification
from verify.runner import copy_target, verify_targets

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("verify_settings")]

BIDI_URL = "https://partner.example/news/\u202egnp.exe"  # reads as "https://partner.example/news/exe.png"
BIDI_HOST = "part\u2066ner\u200b.example"
BIDI_HOST_URL = f"https://{BIDI_HOST}/story\u200e\x85"
HIDDEN = "\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u200b\u200c\u200d\ufeff\x1b\x85\u2028"


def marked(code):
    return f'<mark class="hidden-character" title="An invisible or control character">&lt;U+{code}&gt;</mark>'


def assert_inert(html, *codes):
    leaks = [html[max(0, html.index(c) - 150):html.index(c) + 20] for c in HIDDEN if c in html]
    assert not leaks, leaks
    for code in codes:
        assert marked(code) in html, code


@pytest.fixture
def editor(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("editor", "editor@example.org", "pw"))


@pytest.fixture
def copies(story):
    now = timezone.now()
    hit(story, now - timedelta(hours=1), "a", copy=BIDI_URL)
    hit(story, now - timedelta(hours=1), "b", copy=BIDI_HOST_URL)
    count_all_new_hits(now=now)
    bidi = Copy.objects.get(url=BIDI_URL)
    on_bidi_host = Copy.objects.get(url=BIDI_HOST_URL)
    assert on_bidi_host.host == BIDI_HOST
    VerificationFactory(
        copy=bidi, status=Verification.ISSUES, final_url=BIDI_URL + "\u2067", failing=["headline"], checked_at=now,
        checks={"headline": {"ok": False, "summary": "Headline changed to \u201cCouncil \u202efails\u201d",
                             "evidence": {}}},
    )
    return bidi, on_bidi_host


@pytest.mark.parametrize("page", ["overview", "story", "republisher"])
def test_readers_pages_show_hidden_characters_in_copies_escaped_and_marked(client, editor, story, copies, page):
    url = {
        "overview": reverse("tracking_readers:overview"),
        "story": reverse("tracking_readers:story", args=[story.pk]),
        "republisher": reverse("tracking_readers:republisher", args=[BIDI_HOST]),
    }[page]
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    if page == "story":
        assert_inert(html, "202E", "2066", "200B", "200E", "0085")
        assert "https://partner.example/news/" + marked("202E") + "gnp.exe" in html
    else:
        assert_inert(html, "2066", "200B")
        assert "part" + marked("2066") + "ner" + marked("200B") + ".example" in html


@pytest.mark.parametrize("page", ["overview", "story", "republisher", "verification"])
def test_copies_pages_show_hidden_characters_escaped_and_marked(client, editor, story, copies, page):
    bidi, on_bidi_host = copies
    url = {
        "overview": reverse("verify_copies:overview"),
        "story": reverse("verify_copies:story", args=[story.pk]),
        "republisher": reverse("verify_copies:republisher", args=[BIDI_HOST]),
        "verification": reverse("verify_copies:verification", args=[bidi.verifications.get().pk]),
    }[page]
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    codes = {"overview": ["2066", "200B"], "story": ["202E", "2066", "200B", "200E", "0085"],
             "republisher": ["2066", "200B"], "verification": ["202E", "2067"]}[page]
    assert_inert(html, *codes)


def test_one_implementation_for_pages_and_terminals():
    assert visible_controls("a\u202eb\x1bc\u200bd") == "a<U+202E>b<U+001B>c<U+200B>d"
    assert visible_controls("Café — 中文, plain") == "Café — 中文, plain"
    assert inert('<b>"x"</b>\u202e') == "&lt;b&gt;&quot;x&quot;&lt;/b&gt;" + marked("202E")
    assert inert("<U+202E> typed out is only text") == "&lt;U+202E&gt; typed out is only text"


def test_a_copy_on_a_host_resolving_to_loopback_is_unreachable_without_an_address_in_its_result(
        story, settings, monkeypatch):
    """Issue #17, finding 7: without BYLINE_FETCH_ALLOW_HOSTS, the check result editors see says the address
    is not fetched, never which address the host resolved to on our side."""
    settings.FETCH_ALLOW_HOSTS = []
    monkeypatch.setattr(fetch, "resolve", lambda host, port: ["127.0.0.1"])
    copy = CopyFactory(story=story, url="https://intranet.partner.example/story")
    verify_targets([copy_target(copy)])
    result = copy.verifications.get()
    assert result.status == Verification.UNREACHABLE
    assert "we do not fetch (private or local" in result.error
    shown = f"{result.error} {result.as_json()}"
    assert "127.0.0.1" not in shown and not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", shown)
