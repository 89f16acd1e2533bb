"""A partner's own page (issue #20, "A partner can see its own numbers"): its copies, first and last seen,
views and readers per copy and per story over a period, and the same rows as CSV; nobody else's."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from republish.pixel import partner_via
from stories.factories import SectionPageFactory, StoryPageFactory
from tracking.api import Copy
from tracking.counting import count_all_new_hits
from tracking.factories import hit

pytestmark = pytest.mark.django_db


@pytest.fixture
def readers(story, gazette, courier, news):
    """Read today-ish: the gazette's page of `story` by three readers, a page of the gazette's feed that sent
    no address by one, the courier's page by five; another story on the gazette's site by one."""
    other = StoryPageFactory(parent=news, title="=HYPERLINK(\"http://evil.example\")")
    at = timezone.now() - timedelta(hours=2)
    via = partner_via(gazette.pk)
    for visitor in "abc":
        hit(story, at, visitor=visitor, copy="https://gazette.example/2026/cleanup/", via=via)
    hit(story, at, visitor="d", copy=Copy.partner_page(gazette.pk), via=via)
    for visitor in "vwxyz":
        hit(story, at, visitor=visitor, copy="https://courier.example/harbor/", via=partner_via(courier.pk))
    hit(other, at, visitor="e", copy="https://www.gazette.example/other/")
    count_all_new_hits(now=timezone.now() + timedelta(minutes=1))
    return other


def page(client, partner, **query):
    response = client.get(f"/partners/{partner.key}/", query)
    assert response.status_code == 200
    return response


def test_the_page_shows_this_partners_copies_and_counts_and_nobody_elses(client, story, gazette, readers):
    response = page(client, gazette)
    copies = {row["address"]: (row["story_id"], row["views"], row["readers"]) for row in response.context["copies"]}
    assert copies == {
        "https://gazette.example/2026/cleanup/": (story.pk, 3, 3),
        "A page of yours whose address readers' browsers did not send": (story.pk, 1, 1),
        "https://www.gazette.example/other/": (readers.pk, 1, 1),
    }
    stories = {s["story_id"]: (s["copies"], s["views"], s["readers"]) for s in response.context["stories"]}
    assert stories == {story.pk: (2, 4, 4), readers.pk: (1, 1, 1)}
    assert response.context["totals"]["readers"] == 5
    html = response.content.decode()
    assert "https://gazette.example/2026/cleanup/" in html and "courier.example" not in html
    assert "Harbor Gazette" in html and "Cape Courier" not in html


def test_the_other_partner_sees_only_its_own(client, story, courier, readers):
    copies = page(client, courier).context["copies"]
    assert [(row["address"], row["readers"]) for row in copies] == [("https://courier.example/harbor/", 5)]


def test_the_period_is_the_last_30_days_unless_asked(client, story, gazette):
    long_ago, recently = datetime(2026, 1, 15, 12, tzinfo=UTC), timezone.now() - timedelta(hours=2)
    copy = "https://gazette.example/2026/cleanup/"
    hit(story, long_ago, visitor="old", copy=copy)
    for visitor in "ab":
        hit(story, recently, visitor=visitor, copy=copy)
    count_all_new_hits(now=timezone.now() + timedelta(minutes=1))
    [row] = page(client, gazette).context["copies"]
    assert (row["address"], row["views"], row["readers"]) == (copy, 2, 2)
    january = page(client, gazette, **{"from": "2026-01-01", "to": "2026-01-31"}).context
    [row] = january["copies"]
    assert (row["views"], row["readers"]) == (1, 1) and january["totals"]["readers"] == 1
    # First and last seen are over all time, whatever the period.
    assert row["first_seen"] == long_ago and row["last_seen"] == recently
    invalid = page(client, gazette, **{"from": "2026-02-01", "to": "2026-01-01"})
    assert invalid.context["period"].asked_for_invalid and "is after the end date" in invalid.content.decode()


def test_the_csv_has_the_same_rows_safe_from_spreadsheet_formulas(client, story, gazette, readers):
    shown = page(client, gazette).context["copies"]
    response = client.get(f"/partners/{gazette.key}/copies.csv")
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="copies-')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:8] == ["Copy (address)", "Story ID", "Story title", "Story URL", "First seen (UTC)",
                           "Last seen (UTC)", "Views", "Readers"]
    assert [(r[0], int(r[1]), int(r[6]), int(r[7])) for r in rows[1:]] == [
        (row["address"], row["story_id"], row["views"], row["readers"]) for row in shown]
    titles = {r[2] for r in rows[1:]}
    assert "'=HYPERLINK(\"http://evil.example\")" in titles and "Harbor cleanup begins" in titles
    assert "courier.example" not in response.content.decode()


def test_the_page_and_csv_are_private_and_never_indexed(client, gazette, courier):
    for path in ("", "copies.csv"):
        response = client.get(f"/partners/{gazette.key}/{path}")
        assert response["Cache-Control"] == "private, no-store"
        assert response["X-Robots-Tag"] == "noindex, nofollow" and response["Referrer-Policy"] == "no-referrer"
    courier.revoke()
    assert client.get(f"/partners/{courier.key}/").status_code == 404
    assert client.get(f"/partners/{courier.key}/copies.csv").status_code == 404


def test_copy_addresses_are_shown_as_inert_text(client, story, gazette):
    hit(story, timezone.now() - timedelta(hours=1), copy="https://gazette.example/<script>alert(1)</script>")
    count_all_new_hits(now=timezone.now() + timedelta(minutes=1))
    html = page(client, gazette).content.decode()
    assert "<script>alert(1)" not in html


def test_only_a_keys_shape_is_taken_from_the_sites_own_pages_under_partners(client, home, gazette):
    ours = SectionPageFactory(parent=home, title="Our Partners", slug="partners")
    child = StoryPageFactory(parent=ours, title="Meet the Coastline Courier", slug="meet-the-coastline-courier")
    assert client.get("/partners/").status_code == 200
    page = client.get(child.url)
    assert child.url == "/partners/meet-the-coastline-courier/"
    assert page.status_code == 200 and "Meet the Coastline Courier" in page.content.decode()
    assert client.get(f"/partners/{gazette.key}/").status_code == 200, "a partner's key still reaches its page"
