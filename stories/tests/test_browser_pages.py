"""Pages that never contradict themselves, as a reader's browser shows them: a wire story promises nothing
its republish box refuses, and the Republish dialog is usable on a phone."""

import pytest

from images.factories import BylineImageFactory
from stories.factories import AuthorFactory, OriginFactory, SectionPageFactory, StoryPageFactory
from stories.models import Origin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest.fixture
def phone(chromium):
    context = chromium.new_context(**PHONE)
    page = context.new_page()
    yield page
    context.close()


# Whether a tap at the element's centre would reach the element itself.
ON_TOP = """el => { const r = el.getBoundingClientRect();
                    return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === el; }"""


def in_view(page, locator):
    """Whether the element is whole inside the viewport (not scrolled off, not under the dialog's edge)."""
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and \
        box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"]


def test_on_a_phone_the_dialog_opens_at_its_title_and_a_tap_outside_closes_it(live_site, news, phone):
    story = StoryPageFactory(parent=news, title="Harbor cleanup begins after a decade of delays and lawsuits")
    phone.goto(live_site.url + story.url)
    phone.get_by_role("link", name="Republish This Story").tap()

    dialog = phone.get_by_role("dialog", name="Republish “Harbor cleanup begins after a decade of delays and lawsuits”")
    handout = dialog.locator("[data-copy-source='html']")
    phone.wait_for_function("el => el.value !== ''", arg=handout.element_handle())  # the dialog at its full height
    assert dialog.is_visible()
    title = dialog.locator("#republish-dialog-title")
    close = dialog.get_by_role("button", name="Close")
    assert in_view(phone, title) and in_view(phone, close)
    assert dialog.evaluate("el => el.scrollTop") == 0
    assert dialog.evaluate("el => el.scrollHeight > el.clientHeight"), "taller than the screen: the test needs it"

    # Scrolled down to the last Copy button, the title and the close button are still there.
    dialog.get_by_role("button", name="Copy script").scroll_into_view_if_needed()
    assert dialog.evaluate("el => el.scrollTop") > 0
    assert in_view(phone, close) and close.evaluate(ON_TOP), "the close button is not covered by the content"

    # A tap on the dialog itself keeps it open; a tap on the dimmed page around it closes it.
    box = dialog.bounding_box()
    phone.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] - 4)
    assert dialog.is_visible()
    phone.touchscreen.tap(box["x"] + box["width"] / 2, max(1, box["y"] / 2))
    dialog.wait_for(state="hidden")
    assert not phone.evaluate("document.getElementById('republish-dialog').open")


@pytest.mark.parametrize("kind", [Origin.WIRE, Origin.PARTNER])
def test_a_story_that_may_not_travel_never_says_free_to_republish(live_site, site, news, support, browser_page,
                                                                  kind):
    support.appeal_message = ("<p>Every story we publish is <b>free to read and free to republish</b>. "
                              "Readers pay for it.</p><p>Free to republish means anyone may run it.</p>")
    support.save()
    if kind == Origin.WIRE:
        origin = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA", kind=Origin.WIRE)
    else:
        origin = OriginFactory(name="The Lakeside Courier", short_name="Lakeside Courier", kind=Origin.PARTNER)
    author = AuthorFactory(name="Ben Harris", role="a correspondent", bio="")
    wire = StoryPageFactory(parent=news, title="Water managers trade drought lessons", origin=origin,
                            dateline_place="JERUSALEM", authors=[author])
    own = StoryPageFactory(parent=news, title="Council passes the budget")

    page = browser_page
    page.goto(live_site.url + wire.url)
    html = page.content()
    assert "free to republish" not in html.lower() and "free to republish" not in page.inner_text("body").lower()
    assert "not available for republishing" in page.locator(".republish-box").inner_text()
    assert page.locator("footer .free-to-read").inner_text() == "Free to read, thanks to our members."
    message = page.locator(".appeal__message").inner_text()
    assert "free to read" in message and "Readers pay for it." in message and "republish" not in message.lower()

    page.goto(live_site.url + own.url)  # our own story still says what is true of it
    assert page.locator("footer .free-to-read").inner_text() == support.free_to_read_line
    assert "free to read and free to republish" in page.locator(".appeal__message").inner_text()


def test_a_wire_story_names_its_agency_in_the_byline_and_explains_it_where_it_first_appears(
        live_site, news, browser_page):
    jta = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA", kind=Origin.WIRE)
    story = StoryPageFactory(
        parent=news, title="Water managers trade drought lessons", origin=jta, dateline_place="JERUSALEM",
        authors=[AuthorFactory(name="Ben Harris")],
        lead_image=BylineImageFactory(credit="JTA Photo", default_caption="Delegates at the conference."),
    )
    page = browser_page
    page.goto(live_site.url + story.url)
    assert page.locator(".byline").inner_text() == "By Ben Harris, JTA"
    body_text = page.inner_text("main")
    first = body_text.index("JTA")
    assert body_text[first:first + 9] == "JTA Photo", "the picture credit comes before the byline"
    explained = page.locator("main abbr").first
    assert explained.inner_text() == "JTA" and explained.get_attribute("title") == "Jewish Telegraphic Agency"
    assert page.locator(".story__lead-image abbr[title='Jewish Telegraphic Agency']").count() == 1
    assert page.locator(".byline abbr").get_attribute("title") == "Jewish Telegraphic Agency"
    assert "JERUSALEM (JTA) —" in page.inner_text(".story__body")


def test_home_and_section_pages_are_centred_like_the_story_page_with_every_cards_picture(
        live_site, home, news, browser_page):
    sports = SectionPageFactory(parent=home, title="Sports", slug="sports", show_in_menus=True)
    for n in range(3):
        StoryPageFactory(parent=news, title=f"Harbor story {n}", lead_image=BylineImageFactory())
    StoryPageFactory(parent=news, title="A story without a picture")
    lone = StoryPageFactory(parent=sports, title="Rowing final", lead_image=BylineImageFactory())
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    width = 1440

    names = {}
    for url in (home.url, news.url, sports.url, lone.url):
        page.goto(live_site.url + url)
        name = page.locator(".site-header__name").bounding_box()
        names[url] = round(name["x"])
        assert abs((name["x"] + name["width"] / 2) - width / 2) <= 2, url  # the masthead is centred
        if url != lone.url:
            cards = page.locator(".story-card")
            pictured = [card for card in cards.all() if card.locator("img.story-card__image").count()]
            titles = [card.locator("h2").inner_text() for card in pictured]
            assert "A story without a picture" not in titles
            for card in pictured:
                assert card.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
            listing = page.locator(".story-list").bounding_box()
            content = [card.bounding_box() for card in cards.all()]
            left = min(box["x"] for box in content)
            right = max(box["x"] + box["width"] for box in content)
            assert abs(left - (width - right)) <= 2, url  # as much room on the right as on the left
            assert listing["x"] >= 0
    assert len(set(names.values())) == 1, f"the masthead moves from page to page: {names}"

    page.goto(live_site.url + home.url)
    assert [h.inner_text() for h in page.locator(".story-card h2").all()][:1] == ["Rowing final"]
    assert page.locator(".story-card img.story-card__image").count() == 4
