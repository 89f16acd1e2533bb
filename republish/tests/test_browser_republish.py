"""A partner editor republishes a story in a real Chromium: button, dialog, clipboard."""

import pytest

from stories.factories import OriginFactory, StoryPageFactory
from stories.models import Origin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clipboard_page(chromium):
    context = chromium.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    yield page
    context.close()


def focus_is_inside_dialog(page):
    return page.evaluate("document.getElementById('republish-dialog').contains(document.activeElement)")


def test_partner_copies_the_handout_html_exactly_as_the_json_gives_it(live_site, news, clipboard_page):
    story = StoryPageFactory(parent=news, title="Harbor cleanup begins")
    page = clipboard_page
    page.goto(live_site.url + story.url)

    button = page.get_by_role("link", name="Republish This Story")
    assert button.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(255, 210, 63)"  # yellow
    button.click()
    dialog = page.get_by_role("dialog", name="Republish “Harbor cleanup begins”")
    assert dialog.is_visible()
    assert "CC BY-ND 4.0" in dialog.inner_text()
    for _ in range(12):  # Tab around: focus never leaves the modal dialog
        page.keyboard.press("Tab")
        assert focus_is_inside_dialog(page)

    page.keyboard.press("Escape")
    assert not dialog.is_visible()

    button.click()
    page.get_by_role("button", name="Copy HTML").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    clipboard = page.evaluate("navigator.clipboard.readText()")
    expected = page.request.get(f"{live_site.url}/republish/{story.pk}.json").json()["html"]
    assert clipboard == expected
    assert "/pixel/" in clipboard and "This story was originally published by" in clipboard

    page.get_by_role("button", name="Copy head snippet").click()
    assert page.evaluate("navigator.clipboard.readText()").startswith('<link rel="canonical"')


def test_a_wire_story_shows_the_reason_and_no_button(live_site, news, clipboard_page):
    wire = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA", kind=Origin.WIRE)
    story = StoryPageFactory(parent=news, origin=wire)
    page = clipboard_page
    page.goto(live_site.url + story.url)
    box = page.locator(".republish-box")
    assert "This story originated with JTA and is not available for republishing." in box.inner_text()
    assert page.get_by_role("link", name="Republish This Story").count() == 0
    assert box.get_by_role("heading").inner_text() == "About Republishing", "no invitation to republish it"


def test_without_javascript_the_button_leads_to_the_republish_page(live_site, news, chromium):
    story = StoryPageFactory(parent=news)
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_site.url + story.url)
    page.get_by_role("link", name="Republish This Story").click()
    page.wait_for_url(f"**/republish/{story.pk}/")
    assert page.locator('meta[name="robots"]').get_attribute("content") == "noindex, nofollow"
    assert page.locator('link[rel="canonical"]').get_attribute("href") == story.full_url
    assert "/pixel/" in page.locator("#republish-page-html").input_value()
    context.close()


def test_the_dialog_fills_in_the_handout_from_the_json_as_it_opens(live_site, news, clipboard_page):
    story = StoryPageFactory(parent=news)
    page = clipboard_page
    page.goto(live_site.url + story.url)
    expected = page.request.get(f"{live_site.url}/republish/{story.pk}.json").json()
    page.get_by_role("link", name="Republish This Story").click()
    dialog = page.get_by_role("dialog")
    for kind in ("html", "head", "text"):
        field = dialog.locator(f'[data-copy-source="{kind}"]')
        page.wait_for_function("el => el.value !== ''", arg=field.element_handle())
        assert field.input_value() == expected[kind]
    page.get_by_role("button", name="Copy text").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == expected["text"]


def test_when_the_handout_cannot_be_fetched_the_dialog_links_to_the_republish_page(live_site, news, clipboard_page):
    story = StoryPageFactory(parent=news)
    page = clipboard_page
    page.route("**/republish/*.json", lambda route: route.abort())
    page.goto(live_site.url + story.url)
    page.get_by_role("link", name="Republish This Story").click()
    link = page.get_by_role("dialog").get_by_role("link", name="Open the republish page")
    link.wait_for()
    assert link.get_attribute("href").endswith(f"/republish/{story.pk}/")
    assert focus_is_inside_dialog(page)


def test_the_optional_script_sends_the_partners_page_address_with_the_pixel(live_site, news, browser_page):
    """A partner page (served here by the browser's router) carries the handout's script: the pixel it
    requests names that page, so the copy is known without a Referer."""
    import json
    from urllib.parse import parse_qs, urlsplit

    story = StoryPageFactory(parent=news, title="Harbor cleanup begins")
    page = browser_page
    page.goto(f"{live_site.url}/republish/{story.pk}.json")
    handout = json.loads(page.inner_text("body"))
    partner_url = "https://partner.example/news/harbor-cleanup?ref=home"
    pixels = []
    page.route("https://partner.example/**", lambda route: route.fulfill(
        content_type="text/html",
        body=f"<!doctype html><title>Copy</title><article>{handout['html']}{handout['script']}</article>"))
    page.route("**/pixel/**", lambda route: (pixels.append(route.request.url), route.fulfill(
        status=200, content_type="image/gif", body=b"GIF89a")))
    page.goto(partner_url)
    page.wait_for_function("document.images.length >= 2")
    page.wait_for_timeout(200)
    scripted = [url for url in pixels if "/script/" in url]
    assert len(scripted) == 1
    assert parse_qs(urlsplit(scripted[0]).query)["url"] == [partner_url]
    assert any("/html/" in url for url in pixels), "the HTML's own tracking image still loads"
