"""The reach report for funders (partners/reach.py): its figures agree with the Readers pages, it reads the same
in HTML, PDF and CSV, it is safe with names from outside, and it answers only admins."""

import csv
import io
import re
import shutil
import subprocess
from datetime import timedelta
from html import unescape

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from partners import reach
from partners.models import Partner, PartnerSite
from stories.factories import StoryPageFactory
from tracking import dashboard, filters
from tracking.counting import count_all_new_hits
from tracking.dashboard import start_of, utc_today
from tracking.factories import PARTNER_COPY, hit
from tracking.models import Copy
from tracking.reports import site_overview

pytestmark = pytest.mark.django_db

HOSTILE = '@Bay <script>alert("x")</script> & Co'
FORMULA_TITLE = "=HYPERLINK(\"https://evil.example\") Schools reopen"
GAZETTE_PAGE = "https://partner.example/2026/schools/"
BAY_PAGE = "https://other.example/news/harbor"
STRANGER_PAGE = "https://third.example/harbor"

START, END = utc_today() - timedelta(days=20), utc_today() - timedelta(days=1)
DATES = ["--from", START.isoformat(), "--to", END.isoformat()]


def days_ago(days, hour=12):
    return start_of(utc_today()) - timedelta(days=days) + timedelta(hours=hour)


def flat(text):
    return re.sub(r"\s+", " ", text).strip()


def run(*args):
    """reach_report's text output (HTML or CSV)."""
    out = io.StringIO()
    call_command("reach_report", *args, stdout=out)
    return out.getvalue()


def rows_of(text):
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == reach.CSV_HEADER
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def pdf_text(data):
    assert data.startswith(b"%PDF"), data[:20]
    pdftotext = shutil.which("pdftotext")
    # Never skipped: the PDF's words are what funders read. `make test` installs it (scripts/ensure-pdf-tools).
    assert pdftotext, "pdftotext is missing: run `make pdf-tools` (Debian's poppler-utils)"
    done = subprocess.run([pdftotext, "-", "-"], input=data, capture_output=True, check=True, timeout=60)
    return flat(done.stdout.decode("utf-8"))


@pytest.fixture
def harbor(news):
    return StoryPageFactory(parent=news, title="Harbor cleanup begins")


@pytest.fixture
def schools(news):
    return StoryPageFactory(parent=news, title=FORMULA_TITLE)


@pytest.fixture
def gazette():
    partner = Partner.objects.create(name="Harbor Gazette")
    PartnerSite.objects.create(partner=partner, host="partner.example")
    return partner


@pytest.fixture
def bay():
    partner = Partner.objects.create(name=HOSTILE)
    PartnerSite.objects.create(partner=partner, host="www.other.example")
    return partner


@pytest.fixture
def counted(harbor, schools, gazette, bay):
    """Ten days ago, harbor: 2 readers on our site; on the Gazette's page 3 readers (a reads it again an hour
    later: a new view) and 1 through its feed's pixel (no address sent); 1 on Bay's page, 1 on a site of no
    partner, 1 on a page that sent no address; and 3 bots. Three days ago, schools: 1 reader on our site and 2
    on the Gazette's page. Forty days ago, outside the period: 5 readers of harbor on the Gazette's page."""
    at = days_ago(10)
    for visitor in ("d", "e"):
        hit(harbor, at, visitor=visitor, copy=Copy.OUR_SITE, via="site")
    for visitor in ("a", "b", "c"):
        hit(harbor, at, visitor=visitor, copy=PARTNER_COPY)
    hit(harbor, at + timedelta(hours=1), visitor="a", copy=PARTNER_COPY)
    hit(harbor, at, visitor="i", copy=Copy.partner_page(gazette.pk))
    hit(harbor, at, visitor="f", copy=BAY_PAGE)
    hit(harbor, at, visitor="g", copy=STRANGER_PAGE)
    hit(harbor, at, visitor="h", copy="")
    for _ in range(3):
        hit(harbor, at, visitor="bot", filtered=filters.BOT)
    hit(schools, days_ago(3), visitor="j", copy=Copy.OUR_SITE, via="site")
    for visitor in ("k", "l"):
        hit(schools, days_ago(3), visitor=visitor, copy=GAZETTE_PAGE)
    for visitor in "mnopq":
        hit(harbor, days_ago(40), visitor=visitor)
    count_all_new_hits(now=timezone.now())


def figures(rows):
    return {row["Item"]: row for row in rows if row["Section"] == "Figures"}


# The numbers

def test_the_report_counts_our_site_copies_partners_and_the_extra_reach(counted, harbor, schools):
    report = reach.build(START, END)
    assert (report.our_site.readers, report.copies.readers, report.in_all.readers) == (3, 9, 12)
    assert (report.our_site.views, report.copies.views) == (3, 10)
    assert report.copies.copies == 6
    assert report.extra_reach == reach.Decimal("3.00")
    assert report.partners_read == 2
    assert [(row.name, row.copies, row.views, row.readers) for row in report.partners] == [
        ("Harbor Gazette", 3, 7, 6), (HOSTILE, 1, 1, 1), (reach.NO_PARTNER, 1, 1, 1), (reach.UNKNOWN_PAGE, 1, 1, 1)]
    assert [(row.story_id, row.copies) for row in report.top_by_copies] == [(harbor.pk, 5), (schools.pk, 1)]
    assert [(row.story_id, row.our_readers, row.copy_readers, row.readers) for row in report.top_by_readers] == [
        (harbor.pk, 2, 7, 9), (schools.pk, 1, 2, 3)]
    assert sum(week.readers for week in report.weeks) == 12
    assert report.weeks[0].start == START and report.weeks[-1].end == END
    assert all(week.start.weekday() == 0 for week in report.weeks[1:])


def test_the_csv_adds_up_to_the_readers_overview_for_the_same_days(counted):
    rows = rows_of(run(*DATES, "--format", "csv"))
    period = dashboard.period_from({"from": START.isoformat(), "to": END.isoformat()})
    totals = site_overview(period.since, period.until)["totals"]
    assert dashboard.overview(period)["totals"]["readers"] == totals["readers"] == 12

    figure = figures(rows)
    in_all = figure["Readers in all (our site and republished copies)"]
    assert (int(in_all["Views"]), int(in_all["Readers"])) == (totals["views"], totals["readers"])
    ours, copies = figure["Readers on our site"], figure["Readers on republished copies"]
    assert int(ours["Readers"]) + int(copies["Readers"]) == totals["readers"]
    assert int(ours["Views"]) + int(copies["Views"]) == totals["views"]
    partners = [row for row in rows if row["Section"] == "Partner"]
    assert sum(int(row["Readers"]) for row in partners) == int(copies["Readers"]) == 9
    assert sum(int(row["Views"]) for row in partners) == int(copies["Views"])
    assert sum(int(row["Copies"]) for row in partners) == int(copies["Copies"]) == 6
    weeks = [row for row in rows if row["Section"] == "Week"]
    assert sum(int(row["Readers"]) for row in weeks) == totals["readers"]
    assert sum(int(row["Views"]) for row in weeks) == totals["views"]
    extra = figure["Extra reach (readers on copies per reader on our site)"]
    assert extra["Value"] == "3.00" and "brought 3.00 more" in extra["Note"]
    assert figure["Partners whose copies were read"]["Value"] == "2"
    assert {row["Scope"] for row in rows} == {"All partners and sites"}
    assert {(row["From (UTC day)"], row["To (UTC day)"]) for row in rows} == {(START.isoformat(), END.isoformat())}
    assert [row["Item"] for row in rows if row["Section"] == "Top stories by readers"] == [
        "Harbor cleanup begins", "'" + FORMULA_TITLE]


def test_csv_cells_never_run_as_formulas(counted):
    text = run(*DATES, "--format", "csv")
    cells = [cell for row in csv.reader(io.StringIO(text.removeprefix("\ufeff"))) for cell in row]
    assert not [cell for cell in cells if cell.lstrip(" ").startswith(("=", "+", "-", "@"))]
    assert "'" + HOSTILE in cells


# HTML and PDF

def test_the_html_page_holds_the_figures_a_weekly_chart_and_no_markup_from_names(counted):
    html = run(*DATES, "--format", "html")
    assert html.startswith("<!DOCTYPE html>")
    text = flat(unescape(re.sub(r"<[^>]+>", " ", html)))
    for words in ("3 readers on our site", "9 readers on republished copies", "12 readers in all",
                  "3.00× extra reach", "For every reader on our site, republished copies brought 3.00 more",
                  "2 partners had copies read; 6 republished copies", "Harbor Gazette 3 7 6",
                  "Harbor cleanup begins 5 2 7 9", "A reader is a visitor's first view"):
        assert words in text, words
    assert html.count("<svg") == 1 and 'role="img"' in html
    assert "Readers per week from" in html
    assert "<script>" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # nothing to load from elsewhere


def test_the_pdf_is_the_page_drawn_with_its_figures(counted, tmp_path):
    target = tmp_path / "reach.pdf"
    assert run(*DATES, "--format", "pdf", "--output", str(target)) == ""
    text = pdf_text(target.read_bytes())
    for words in ("Reach report", "3 readers on our site", "9 readers on republished copies", "12 readers in all",
                  "brought 3.00 more", "Harbor Gazette", 'Bay <script>alert("x")</script> & Co',
                  "Top stories by copies", "Readers per week", "Method"):
        assert words in text, words


def test_the_pdf_fetches_nothing(tmp_path, caplog):
    style = tmp_path / "style.css"
    style.write_text('body::before { content: "FETCHED" }')
    html = f'<link rel="stylesheet" href="{style.as_uri()}"><p>Only this</p><img src="{style.as_uri()}">'
    text = pdf_text(reach.pdf_bytes(html))
    assert text == "Only this"
    assert "loads nothing from outside" in caplog.text


def test_the_pdf_goes_to_standard_output_as_bytes(counted):
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    call_command("reach_report", *DATES, "--format", "pdf", stdout=out)
    out.flush()
    assert raw.getvalue().startswith(b"%PDF")


def test_our_site_without_readers_is_said_in_words(harbor, gazette):
    hit(harbor, days_ago(5), visitor="a", copy=PARTNER_COPY)
    count_all_new_hits(now=timezone.now())
    report = reach.build(START, END)
    assert report.extra_reach is None
    assert report.extra_reach_text == ("Our site had no readers in this period, so there is no ratio: all 1 "
                                       "readers came from republished copies.")
    rows = rows_of(run(*DATES, "--format", "csv"))
    extra = figures(rows)["Extra reach (readers on copies per reader on our site)"]
    assert extra["Value"] == "" and "no ratio" in extra["Note"]
    assert "–" in flat(run(*DATES, "--format", "html"))


def test_an_empty_period_is_a_report_of_zeros(db, site):
    report = reach.build(START, END)
    assert (report.our_site.readers, report.copies.readers, report.partners, report.top_by_readers) == (0, 0, [], [])
    assert "No readers were counted" in report.extra_reach_text
    assert "<svg" in run(*DATES, "--format", "html")


# One partner

def test_a_partners_report_counts_its_copies_only_with_our_site_for_context(counted, gazette, harbor):
    rows = rows_of(run(*DATES, "--partner", "Harbor Gazette", "--format", "csv"))
    figure = figures(rows)
    assert figure["Readers on Harbor Gazette's copies"]["Readers"] == "6"
    assert figure["Readers on Harbor Gazette's copies"]["Copies"] == "3"
    assert figure["Readers on our site"]["Readers"] == "3"
    assert figure["Extra reach (readers on copies per reader on our site)"]["Value"] == "2.00"
    assert [row["Item"] for row in rows if row["Section"] == "Partner"] == ["Harbor Gazette"]
    assert [(row["Item"], row["Readers"]) for row in rows if row["Section"] == "Top stories by readers"] == [
        ("Harbor cleanup begins", "4"), ("'" + FORMULA_TITLE, "2")]
    assert sum(int(row["Readers"]) for row in rows if row["Section"] == "Week") == 6
    assert {row["Scope"] for row in rows} == {"Partner: Harbor Gazette"}

    text = pdf_text(reach.render(reach.build(START, END, gazette), "pdf"))
    assert "6 readers on Harbor Gazette's copies" in text and "Sites of no partner" not in text
    assert "2.00" in text


def test_a_partner_is_found_in_any_case(counted):
    assert "Harbor Gazette" in run(*DATES, "--partner", "harbor gazette", "--format", "html")


# Asking

@pytest.mark.parametrize("args, message", [
    (["--from", "2026-13-01", "--to", "2026-12-01", "--format", "csv"], "YYYY-MM-DD"),
    (["--from", "yesterday", "--to", "2026-12-01", "--format", "csv"], "YYYY-MM-DD"),
    (["--from", "2026-11-30", "--to", "2026-11-01", "--format", "csv"], "is after the end date"),
    (["--from", "2000-01-01", "--to", "2026-11-01", "--format", "csv"], "ten years"),
    ([*DATES, "--format", "docx"], "Unknown format 'docx': choose pdf, html or csv"),
    ([*DATES, "--format", "csv", "--partner", "Nobody"], "No partner is called 'Nobody'. Partners: Harbor Gazette"),
])
def test_bad_input_is_a_clear_command_error(gazette, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run(*args)


def test_dates_and_format_are_required(db):
    with pytest.raises(CommandError, match="--from"):
        run("--to", "2026-11-01", "--format", "csv")


def test_output_writes_the_file(counted, tmp_path):
    target = tmp_path / "reach.csv"
    assert run(*DATES, "--format", "csv", "--output", str(target)) == ""
    assert target.read_bytes().startswith("\ufeffSection,Item".encode())
    assert rows_of(target.read_text("utf-8")) == rows_of(run(*DATES, "--format", "csv"))
    with pytest.raises(CommandError, match="Cannot write"):
        run(*DATES, "--format", "csv", "--output", str(tmp_path / "missing" / "reach.csv"))


# The admin page

def test_anonymous_and_non_admin_users_get_no_report(client, django_user_model, counted):
    url = reverse("partners_admin:reach") + f"?start={START}&end={END}&format=csv"
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("wagtailadmin_login"))
    client.force_login(django_user_model.objects.create_user("reader", "reader@example.org", "pw"))
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("wagtailadmin_login"))


def test_the_admin_form_downloads_the_report(admin_client, counted, gazette):
    url = reverse("partners_admin:reach")
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Reach report" in html and 'name="start"' in html and "Harbor Gazette" in html
    assert "&lt;script&gt;" in html and '<script>alert("x")' not in html

    response = admin_client.get(url, {"start": START, "end": END, "partner": "", "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="reach-all-{START}-to-{END}.csv"'
    assert rows_of(response.content.decode("utf-8")) == rows_of(run(*DATES, "--format", "csv"))

    response = admin_client.get(url, {"start": START, "end": END, "partner": gazette.pk, "format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="reach-harbor-gazette-{START}-to-{END}.pdf"'
    assert "6 readers on Harbor Gazette's copies" in pdf_text(response.content)

    response = admin_client.get(url, {"start": START, "end": END, "format": "html"})
    assert response.status_code == 200 and "<svg" in response.content.decode()


def test_the_admin_form_says_what_is_wrong(admin_client, db):
    response = admin_client.get(reverse("partners_admin:reach"),
                                {"start": "2026-11-30", "end": "2026-11-01", "format": "pdf"})
    assert response.status_code == 400
    assert "is after the end date" in response.content.decode()
    response = admin_client.get(reverse("partners_admin:reach"), {"start": "soon", "end": "", "format": "xls"})
    assert response.status_code == 400
    assert "Write the date YYYY-MM-DD" in response.content.decode()
