"""Clicks on an appeal's button and views of an appeal, counted like pixel hits: cookieless visitor key, the same
filters and rate cap, group commit; the click then goes to the donation page the database names, nowhere else."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from appeals import recording
from appeals.counting import count_all_new_events, count_new_events, forget_old_events
from appeals.factories import AppealFactory
from appeals.models import EVERGREEN, AppealEvent, AppealVariant, EventVisit, FilteredEvent, VariantCount
from stories.factories import StoryPageFactory
from tracking import filters
from tracking.pixel import GIF

from .helpers import BROWSER, UTC, at

pytestmark = pytest.mark.django_db
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news)


@pytest.fixture
def campaign():
    start = at(UTC, 2027, 4, 1)
    return AppealFactory(name="Spring", starts_at=start, ends_at=start + timedelta(days=30), versions=[
        {"heading": "One", "button_url": "https://donate.example.org/spring-a"},
        {"heading": "Two", "button_url": "https://donate.example.org/spring-b"},
    ])


@pytest.fixture
def version(campaign):
    return campaign.ordered_variants()[1]


def click(client, variant_id, story_id, user_agent=BROWSER, ip="203.0.113.7", method="get", query="", **headers):
    path = f"/appeals/click/{variant_id}/{story_id}/" + (f"?{query}" if query else "")
    if user_agent is not None:
        headers["HTTP_USER_AGENT"] = user_agent
    return getattr(client, method)(path, REMOTE_ADDR=ip, **headers)


def seen(client, variant_id, story_id, user_agent=BROWSER, ip="203.0.113.7", **headers):
    return client.get(f"/appeals/seen/{variant_id}/{story_id}.gif", REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent,
                      **headers)


def count():
    """Count everything recorded so far, as the minute job would a little later."""
    return count_all_new_events(now=timezone.now() + timedelta(seconds=10))


def totals(variant_id):
    rows = VariantCount.objects.filter(variant_id=variant_id)
    return sum(r.views for r in rows), sum(r.clicks for r in rows)


def only_event():
    (event,) = AppealEvent.objects.all()
    return event


def test_a_click_is_recorded_then_redirected_to_the_versions_donation_page(client, story, version):
    response = click(client, version.pk, story.pk)
    assert response.status_code == 302
    assert response["Location"] == "https://donate.example.org/spring-b"
    assert "no-store" in response["Cache-Control"]
    assert "Set-Cookie" not in response.headers and not response.cookies
    event = only_event()
    assert (event.kind, event.variant_id, event.appeal_id, event.story_id, event.filtered) == (
        "click", version.pk, version.appeal_id, story.pk, "")
    assert len(event.visitor) == 16  # the day's cookieless key; no address or user agent is stored
    assert "203.0.113.7" not in str(AppealEvent.objects.values().first())
    count()
    assert totals(version.pk) == (0, 1)


def test_the_visitor_key_is_the_one_the_story_pixel_gives_the_same_reader(client, story, version):
    from tracking.copies import our_host
    from tracking.visitors import visitor_key

    click(client, version.pk, story.pk)
    assert only_event().visitor == visitor_key("203.0.113.7", BROWSER, our_host(), timezone.now().date())


def test_the_evergreen_appeal_is_version_0_and_goes_to_its_settings_address(client, story, support):
    response = click(client, EVERGREEN, story.pk)
    assert response.status_code == 302 and response["Location"] == "https://donate.example.org/ledger"
    count()
    assert totals(EVERGREEN) == (0, 1)


def test_a_bot_is_sent_on_but_not_counted(client, story, version):
    response = click(client, version.pk, story.pk, user_agent=GOOGLEBOT)
    assert response.status_code == 302
    assert only_event().filtered == filters.BOT
    count()
    assert totals(version.pk) == (0, 0)
    assert FilteredEvent.objects.get(kind="click", reason=filters.BOT).events == 1


@pytest.mark.parametrize("user_agent,headers,reason", [
    ("", {}, filters.NO_USER_AGENT),
    ("curl/8.5.0", {}, filters.BOT),
    (BROWSER, {"HTTP_SEC_PURPOSE": "prefetch;prerender"}, filters.PREFETCH),
])
def test_what_the_pixel_filters_the_click_filters(client, story, version, user_agent, headers, reason):
    click(client, version.pk, story.pk, user_agent=user_agent, **headers)
    assert only_event().filtered == reason


def test_the_rate_cap_stops_a_click_loop(client, story, version):
    for _ in range(35):
        assert click(client, version.pk, story.pk).status_code == 302
    reasons = list(AppealEvent.objects.order_by("id").values_list("filtered", flat=True))
    assert reasons == [""] * 30 + [filters.RATE_LIMIT] * 5


def test_double_clicks_and_reloads_within_30_minutes_count_once(client, story, version):
    for _ in range(3):
        click(client, version.pk, story.pk)
        seen(client, version.pk, story.pk)
    click(client, version.pk, story.pk, ip="198.51.100.22")  # another reader
    count()
    assert totals(version.pk) == (1, 2)


def test_a_visitor_coming_back_after_30_minutes_counts_again(story, version):
    base = at(UTC, 2027, 4, 2, 12)
    rows = [{"received_at": base + timedelta(minutes=m), "kind": "click", "variant_id": version.pk,
             "appeal_id": version.appeal_id, "story_id": story.pk, "visitor": "v1", "filtered": ""}
            for m in (0, 10, 29, 40, 41, 75)]
    recording.write_events(rows[:3])
    count_all_new_events(now=base + timedelta(hours=2))
    recording.write_events(rows[3:])  # a later run carries on from the visits it stored
    count_all_new_events(now=base + timedelta(hours=2))
    assert totals(version.pk) == (0, 3)  # 12:00, 12:40, 13:15
    assert count_new_events(now=base + timedelta(hours=3)) == 0, "counted once, never twice"


def test_an_unknown_version_is_not_counted_and_goes_to_the_evergreen_donation_page(client, story, support):
    response = click(client, 999_999, story.pk)
    assert response.status_code == 302 and response["Location"] == "https://donate.example.org/ledger"
    assert only_event().filtered == recording.UNKNOWN_VERSION
    count()
    assert not VariantCount.objects.exists()


def test_an_unknown_version_without_any_donation_page_is_a_404(client, story):
    assert click(client, 999_999, story.pk).status_code == 404
    assert click(client, 2**70, story.pk).status_code == 404
    assert not AppealEvent.objects.exists()


def test_a_click_from_an_unknown_story_is_not_counted(client, version):
    assert click(client, version.pk, 987_654).status_code == 302
    count()
    assert totals(version.pk) == (0, 0)
    assert FilteredEvent.objects.get(kind="click").reason == filters.UNKNOWN_STORY


@pytest.mark.parametrize("query", [
    "next=https://evil.example/", "url=https://evil.example/", "to=//evil.example", "redirect=javascript:alert(1)",
])
def test_nothing_in_the_request_chooses_where_the_click_goes(client, story, version, query):
    response = click(client, version.pk, story.pk, query=query, HTTP_REFERER="https://evil.example/",
                     HTTP_HOST="evil.example")
    assert response["Location"] == "https://donate.example.org/spring-b"


@pytest.mark.parametrize("path", [
    "/appeals/click/1/2//evil.example/", "/appeals/click//evil.example/", "/appeals/click/https://evil.example/",
    "/appeals/click/-1/2/", "/appeals/click/1/", "/appeals/click/x/2/",
])
def test_other_click_addresses_are_not_found(client, path):
    assert client.get(path, HTTP_USER_AGENT=BROWSER).status_code == 404


def test_a_stored_address_that_is_not_http_is_never_followed(client, story, version):
    AppealVariant.objects.filter(pk=version.pk).update(button_url="javascript:alert(1)")  # bypassing validation
    assert click(client, version.pk, story.pk).status_code == 404


def test_a_new_tab_click_sent_as_a_beacon_is_counted_without_a_csrf_token(story, version):
    client = Client(enforce_csrf_checks=True)
    response = click(client, version.pk, story.pk, method="post")
    assert response.status_code == 204
    assert only_event().kind == "click"


def test_head_records_nothing(client, story, version):
    assert click(client, version.pk, story.pk, method="head").status_code == 302
    assert client.head(f"/appeals/seen/{version.pk}/{story.pk}.gif", HTTP_USER_AGENT=BROWSER).status_code == 200
    assert not AppealEvent.objects.exists()


def test_the_page_cache_never_keeps_a_click_or_a_view(client, story, version):
    for response in (click(client, version.pk, story.pk), seen(client, version.pk, story.pk)):
        assert "public" not in response["Cache-Control"] and "no-store" in response["Cache-Control"]


def test_a_click_that_cannot_be_stored_still_reaches_the_donation_page(client, story, version, monkeypatch):
    class Broken:
        def record(self, row, timeout=None):
            return False

    monkeypatch.setattr(recording, "recorder", Broken())
    assert click(client, version.pk, story.pk)["Location"] == "https://donate.example.org/spring-b"
    assert click(client, version.pk, story.pk, method="post").status_code == 503
    assert seen(client, version.pk, story.pk).status_code == 503


def test_a_view_answers_the_pixels_gif_and_is_counted(client, story, version):
    response = seen(client, version.pk, story.pk)
    assert response.status_code == 200 and response.content == GIF
    assert response["Content-Type"] == "image/gif" and "no-store" in response["Cache-Control"]
    event = only_event()
    assert (event.kind, event.variant_id, event.filtered) == ("view", version.pk, "")
    count()
    assert totals(version.pk) == (1, 0)


def test_a_view_of_an_unknown_version_gets_the_gif_and_is_filtered(client, story):
    assert seen(client, 424_242, story.pk).content == GIF
    assert seen(client, 2**70, story.pk).content == GIF
    assert [e.filtered for e in AppealEvent.objects.all()] == [recording.UNKNOWN_VERSION] * 2


def test_views_and_clicks_are_counted_per_version_and_hour(client, story, campaign):
    one, two = campaign.ordered_variants()
    for n in range(4):
        seen(client, one.pk, story.pk, ip=f"203.0.113.{n}")
    for n in range(3):
        seen(client, two.pk, story.pk, ip=f"198.51.100.{n}")
    click(client, two.pk, story.pk, ip="198.51.100.1")
    count()
    assert totals(one.pk) == (4, 0) and totals(two.pk) == (3, 1)
    assert {row.appeal_id for row in VariantCount.objects.all()} == {campaign.pk}


def test_counts_outlive_a_deleted_version(client, story, campaign):
    two = campaign.ordered_variants()[1]
    two_id = two.pk
    seen(client, two_id, story.pk)
    two.delete()
    count()
    assert totals(two_id) == (1, 0)


def test_visit_keys_and_old_raw_events_are_forgotten(client, story, version, settings):
    click(client, version.pk, story.pk)
    count()
    assert EventVisit.objects.count() == 1
    later = timezone.now() + timedelta(days=settings.RAW_HIT_RETENTION_DAYS + 1)
    forget_old_events(now=later)
    assert not EventVisit.objects.exists() and not AppealEvent.objects.exists()
    assert totals(version.pk) == (0, 1), "the counts hold no visitor data and are kept"


def test_the_story_page_counts_nothing_in_a_preview(rf, story, support):
    from django.template import Context, Template

    request = rf.get(story.url)
    request.is_preview = True
    request.user = None
    html = Template("{% load appeals_tags %}{% support_appeal page %}").render(Context({"request": request,
                                                                                        "page": story}))
    assert 'href="https://donate.example.org/ledger"' in html
    assert "/appeals/" not in html


def test_the_donation_address_of_a_version_must_be_http_or_https():
    from django.core.exceptions import ValidationError

    for bad in ("javascript:alert(1)", "ftp://donate.example.org/", "donate.example.org"):
        with pytest.raises(ValidationError):
            AppealVariant._meta.get_field("button_url").run_validators(bad)
    AppealVariant._meta.get_field("button_url").run_validators("https://donate.example.org/give")
