"""Appeals → Results: views, clicks, click-through rate and its 95 % Wilson interval per version, and versions
compared with version A."""

import re
from datetime import timedelta

import lxml.html
import pytest
from django.urls import reverse

from appeals.factories import AppealFactory, FilteredEventFactory, VariantCountFactory
from appeals.reports import results
from appeals.stats import difference, wilson

from .helpers import UTC, at

START = at(UTC, 2027, 4, 1)


# Reference values: Newcombe, "Two-sided confidence intervals for the single proportion" and "Interval estimation
# for the difference between independent proportions", Statistics in Medicine 17 (1998), Tables I and II.
@pytest.mark.parametrize("successes,trials,low,high", [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_the_published_values(successes, trials, low, high):
    got = wilson(successes, trials)
    assert got == pytest.approx((low, high), abs=0.00006)


@pytest.mark.parametrize("a,b,low,high", [
    ((48, 80), (56, 70), 0.0524, 0.3339),
    ((3, 10), (9, 10), 0.1705, 0.8090),
    ((0, 20), (0, 10), -0.1611, 0.2775),
])
def test_difference_interval_matches_the_published_values(a, b, low, high):
    estimate, got_low, got_high = difference(*a, *b)
    assert estimate == pytest.approx(b[0] / b[1] - a[0] / a[1])
    assert (got_low, got_high) == pytest.approx((low, high), abs=0.00006)


def test_no_views_no_interval():
    assert wilson(0, 0) is None and difference(0, 0, 1, 10) is None
    assert wilson(12, 10) == pytest.approx((0.7225, 1.0), abs=0.0001), "more clicks than views is capped at 100 %"


def add_counts(variant, views, clicks, hour=START + timedelta(hours=5)):
    """Views and clicks of `variant` (None: the evergreen appeal) in one hour."""
    VariantCountFactory(variant=variant, hour=hour, views=views, clicks=clicks)


@pytest.fixture
def counted(db):
    appeal = AppealFactory(name="Spring", starts_at=START, ends_at=START + timedelta(days=30),
                           versions=[{"heading": "Give today", "note": "Warm"}, "Three days left", "Match"])
    a, b, c = appeal.ordered_variants()
    add_counts(a, 6000, 60)
    add_counts(a, 4000, 40, hour=START + timedelta(days=1))  # A: 100 of 10,000
    add_counts(b, 10000, 160)  # B: 160 of 10,000, clearly better
    add_counts(c, 10000, 110)  # C: 110 of 10,000, no clear difference
    add_counts(None, 2000, 9)  # the evergreen appeal
    add_counts(a, 999, 999, hour=START - timedelta(days=90))  # outside the period asked for
    FilteredEventFactory(hour=START, kind="click", reason="bot", events=7)
    return appeal


@pytest.mark.django_db
def test_results_per_version_with_interval_and_comparison(counted):
    evergreen, spring = results(since=START - timedelta(days=1), until=START + timedelta(days=30), now=START)
    [row] = evergreen["versions"]
    assert (row["views"], row["clicks"], row["ctr_text"]) == (2000, 9, "0.45 %")

    a, b, c = spring["versions"]
    assert [v["label"] for v in (a, b, c)] == ["Version A (Warm)", "Version B", "Version C"]
    assert (a["views"], a["clicks"], a["ctr"]) == (10000, 100, 0.01)
    assert (a["low"], a["high"]) == pytest.approx(wilson(100, 10000))
    assert a["interval_text"] == "0.82 % – 1.21 %"
    assert (b["views"], b["clicks"], b["ctr_text"]) == (10000, 160, "1.60 %")
    compare_b, compare_c = spring["comparisons"]
    assert compare_b["clear"] == "better" and compare_b["verdict"] == "Version B gets clicked more than version A."
    assert compare_b["difference_text"] == "+0.60 points"
    assert compare_c["clear"] == "" and compare_c["verdict"].startswith("No clear difference yet")
    low, high = compare_c["low"], compare_c["high"]
    assert low < 0 < high


@pytest.mark.django_db
def test_the_results_page_shows_the_numbers(admin_client, counted):
    response = admin_client.get(reverse("appeals_results:index"), {"from": "2027-03-31", "to": "2027-04-30"})
    assert response.status_code == 200
    document = lxml.html.document_fromstring(response.content)
    tables = document.xpath('//table[contains(@class, "appeal-results__versions")]')
    rows = [[" ".join(td.text_content().split()) for td in tr.xpath("td")] for tr in tables[1].xpath(".//tbody/tr")]
    assert rows[0][1:] == ["10,000", "100", "1.00 %", "0.82 % – 1.21 %"]
    assert rows[1][1:] == ["10,000", "160", "1.60 %", "1.37 % – 1.87 %"]
    assert rows[0][0].startswith("Version A (Warm)")
    text = " ".join(document.text_content().split())
    assert "Version B gets clicked more than version A. Difference +0.60 points" in text
    assert "Bot, crawler, link preview or HTTP library" in text and "Evergreen appeal" in text
    assert "Showing now" in text


@pytest.mark.django_db
def test_the_results_page_speaks_of_likely_ranges_not_of_statistical_methods(admin_client, counted):
    response = admin_client.get(reverse("appeals_results:index"), {"from": "2027-03-31", "to": "2027-04-30"})
    document = lxml.html.document_fromstring(response.content)
    text = " ".join(document.xpath('//div[contains(@class, "appeal-results")]')[0].text_content().split())
    headers = [" ".join(th.text_content().split()) for th in document.xpath(
        '(//table[contains(@class, "appeal-results__versions")])[1]//th')]
    assert headers == ["Version", "Views", "Clicks", "Click-through rate", "Likely range"]
    assert re.search(r"Difference \+0\.60 points \(likely range \+0\.\d\d to \+0\.\d\d points\)", text), text
    assert "The likely range is where" in text
    for jargon in ("Wilson", "Newcombe", "confidence", "interval", "score", "95"):
        assert jargon.lower() not in text.lower(), jargon


@pytest.mark.django_db
def test_an_invalid_range_falls_back_to_the_last_30_days(admin_client, counted):
    response = admin_client.get(reverse("appeals_results:index"), {"from": "2027-05-01", "to": "2027-04-01"})
    assert response.status_code == 200
    assert b"Showing the last 30 days instead." in response.content


@pytest.mark.django_db
def test_a_deleted_version_keeps_its_row(counted):
    c = counted.ordered_variants()[2]
    c_id = c.pk
    c.delete()
    groups = results(since=START - timedelta(days=1), until=START + timedelta(days=30), now=START)
    labels = [v["label"] for v in groups[1]["versions"]]
    assert labels == ["Version A (Warm)", "Version B", f"Deleted version #{c_id}"]
