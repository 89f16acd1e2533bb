"""A reader opens a story in a real Chromium and sees every part of the page."""

import pytest

from appeals.models import SupportSettings
from images.factories import BylineImageFactory
from stories.factories import AuthorFactory, SectionPageFactory, StoryPageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reader_sees_the_whole_story_page_and_a_working_email_link(live_site, site, news, home, browser_page):
    support = SupportSettings.for_site(site)
    support.appeal_heading, support.signature_name = "Make a Passover Gift Today!", "Miriam Okafor"
    support.button_url, support.button_label = "https://donate.example.org/", "Give now"
    support.store_promo_enabled, support.store_promo_heading = True, "Ledger mugs are back"
    support.save()
    culture = SectionPageFactory(parent=home, title="Culture", slug="culture")
    for n in range(8):  # four for Most Popular, four more for In Case You Missed It
        StoryPageFactory(parent=culture, title=f"Theater review {n}")
    author = AuthorFactory(name="Rosa Delgado", role="a senior reporter", email="rosa@ledger.example",
                           social_handle="rosadelgado", pronoun="her")
    story = StoryPageFactory(parent=news, title="Harbor cleanup begins", dek="Dredging starts Monday.",
                             dateline_place="PORT ALDER", authors=[author],
                             lead_image=BylineImageFactory(credit="Getty Images", default_caption="Barges at dawn."))

    response = browser_page.goto(live_site.url + story.url)
    raw_html = response.text()
    assert "rosa@ledger.example" not in raw_html and "mailto:" not in raw_html

    page = browser_page
    for text in ["News", "Harbor cleanup begins", "Dredging starts Monday.", "Barges at dawn.",
                 "Image by Getty Images", "PORT ALDER —", "Make a Passover Gift Today!", "Miriam Okafor",
                 "Most Popular", "In Case You Missed It", "Ledger mugs are back"]:
        assert page.get_by_text(text, exact=False).first.is_visible(), text
    assert page.locator("h1").inner_text() == "Harbor cleanup begins"
    assert page.locator(".story__lead-image img").is_visible()
    assert page.locator(".byline").inner_text() == "By Rosa Delgado"
    assert page.locator(".most-popular li").count() == 4
    assert page.locator(".missed li").count() == 4
    assert page.get_by_role("link", name="Give now").get_attribute("href") == "https://donate.example.org/"

    email_link = page.locator(".author-bio a.email")
    assert email_link.inner_text() == "rosa@ledger.example"
    assert email_link.get_attribute("href") == "mailto:rosa@ledger.example"


def test_without_javascript_a_clear_placeholder_stands(live_site, news, chromium):
    author = AuthorFactory(email="hidden@ledger.example")
    story = StoryPageFactory(parent=news, authors=[author])
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_site.url + story.url)
    assert page.locator(".protected-email").inner_text() == "[email address hidden: turn on JavaScript to see it]"
    assert page.locator("a.email").count() == 0
    context.close()
