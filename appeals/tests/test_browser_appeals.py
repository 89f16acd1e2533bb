"""A reader in a real Chromium sees a campaign's appeal at the end of a story, clicks its button, lands on the
donation page; the view and the click are counted and an editor sees them on Appeals → Results."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appeals.counting import count_all_new_events
from appeals.factories import AppealFactory
from appeals.models import AppealEvent, VariantCount
from stories.factories import StoryPageFactory

from .helpers import BROWSER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BEACON_LOADED = """() => {
    const beacon = document.querySelector("img.appeal__seen");
    return beacon !== null && beacon.complete && beacon.naturalWidth === 1;
}"""


@pytest.fixture
def reader_page(chromium):
    """A browser page that says what a reader's Chrome says: headless Chromium announces itself as
    "HeadlessChrome", which the filters (rightly) take for a bot."""
    context = chromium.new_context(user_agent=BROWSER)
    yield context.new_page()
    context.close()


def test_a_reader_clicks_the_appeal_and_the_click_is_counted(live_site, news, support, reader_page,
                                                             django_user_model):
    donation_page = f"{live_site.url}{news.url}"  # a page on the live server stands in for the donation platform
    now = timezone.now()
    appeal = AppealFactory(name="Make a Passover Gift Today!", starts_at=now - timedelta(days=1),
                           ends_at=now + timedelta(days=7), versions=[
                               {"heading": "Make a Passover Gift Today!", "button_label": "Give for Passover",
                                "button_url": donation_page, "signature_name": "Miriam Okafor"}])
    [version] = appeal.ordered_variants()
    story = StoryPageFactory(parent=news, title="Harbor cleanup begins")

    page = reader_page
    page.goto(live_site.url + story.url)
    appeal_box = page.locator("section.appeal")
    assert appeal_box.get_by_role("heading").inner_text() == "Make a Passover Gift Today!"
    button = appeal_box.get_by_role("link", name="Give for Passover")
    assert button.get_attribute("href") == donation_page, "readers see where the button really goes"

    appeal_box.scroll_into_view_if_needed()
    page.wait_for_function(BEACON_LOADED)  # the appeal reached the screen: one view
    button.click()
    page.wait_for_url(donation_page)
    assert page.locator("h1").first.inner_text() == "News"

    events = list(AppealEvent.objects.values_list("kind", "variant_id", "story_id", "filtered"))
    assert sorted(events) == [("click", version.pk, story.pk, ""), ("view", version.pk, story.pk, "")]
    count_all_new_events(now=timezone.now() + timedelta(seconds=10))
    counts = VariantCount.objects.get(variant_id=version.pk)
    assert (counts.views, counts.clicks, counts.appeal_id) == (1, 1, appeal.pk)

    django_user_model.objects.create_superuser("editor", "editor@ledger.example", "correct horse")
    page.goto(f"{live_site.url}/admin/login/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "correct horse")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/admin/")
    page.goto(f"{live_site.url}/admin/appeals/results/")
    group = page.locator("section.appeal-results__group", has_text="Make a Passover Gift Today!")
    cells = group.locator("tbody tr").first.locator("td").all_inner_texts()
    assert [cell.strip() for cell in cells[1:4]] == ["1", "1", "100.00 %"]


def test_without_javascript_the_button_still_counts_and_reaches_the_donation_page(live_site, news, support, chromium):
    support.button_url = f"{live_site.url}{news.url}"
    support.save()
    story = StoryPageFactory(parent=news)
    context = chromium.new_context(java_script_enabled=False, user_agent=BROWSER)
    page = context.new_page()
    page.goto(live_site.url + story.url)
    button = page.locator("section.appeal a.appeal__button")
    assert button.get_attribute("href") == f"/appeals/click/0/{story.pk}/"
    button.click()
    page.wait_for_url(support.button_url)
    context.close()
    assert list(AppealEvent.objects.filter(kind="click").values_list("variant_id", "story_id", "filtered")) == [
        (0, story.pk, "")]
