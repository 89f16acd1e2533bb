"""The Readers pages in the admin: what editors see, what funders download, and what nobody else gets."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from stories.factories import StoryPageFactory
from tracking import filters
from tracking.charts import bar_chart
from tracking.counting import count_all_new_hits
from tracking.dashboard import neutralise, start_of, utc_today
from tracking.factories import PARTNER_COPY, hit
from tracking.models import Copy

pytestmark = pytest.mark.django_db

OTHER = "https://other.example/news/harbor"
HOSTILE = 'https://evil.example/"><script>alert(1)</script>'


def days_ago(days, hour=12):
    """A moment `days` UTC days before today, at `hour` UTC."""
    return start_of(utc_today()) - timedelta(days=days) + timedelta(hours=hour)


def count():
    count_all_new_hits(now=timezone.now())


def overview_url(**query):
    return reverse("tracking_readers:overview") + query_string(query)


def story_url(story, **query):
    return reverse("tracking_readers:story", args=[story.pk]) + query_string(query)


def republisher_url(host, **query):
    return reverse("tracking_readers:republisher", args=[host]) + query_string(query)


def query_string(query):
    return "?" + "&".join(f"{key.rstrip('_')}={value}" for key, value in query.items()) if query else ""


def rows_of(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def chart_of(html):
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg" class="readers-chart"')
    return html[start:html.index("</svg>", start)]


# Each number says what it counts beside it, in words, not in the names of methods.
VIEWS = "(hits that passed the filters, one per visitor and story in 30 minutes)"
READERS = "(visitors, each counted once per story and day)"


def totals_of(response):
    """The totals line of a Readers page, as text: "13 hits (requests to the pixel) 4 filtered ..."."""
    html = response.content.decode()
    return text_of(html[html.index('class="readers-totals"'):].split("</ul>")[0].split(">", 1)[1])


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "editor@example.org", "pw")
    client.force_login(user)
    return client


@pytest.fixture
def harbor(news):
    return StoryPageFactory(parent=news, title="Harbor cleanup begins")


@pytest.fixture
def schools(news):
    return StoryPageFactory(parent=news, title="Schools reopen")


@pytest.fixture
def counted(harbor, schools):
    """Two days ago: harbor read by 3 readers on the partner's copy (one of them twice within 30 minutes, and
    again an hour later), 2 on our site, 1 on another partner; schools read by 1 on our site. Plus 4 filtered
    hits: 3 bots and 1 prefetch."""
    at = days_ago(2)
    for visitor in ("a", "b", "c"):
        hit(harbor, at, visitor=visitor)
    hit(harbor, at + timedelta(minutes=10), visitor="a")  # same view
    hit(harbor, at + timedelta(hours=1), visitor="a")  # new view, same reader
    for visitor in ("d", "e"):
        hit(harbor, at, visitor=visitor, copy=Copy.OUR_SITE)
    hit(harbor, at, visitor="f", copy=OTHER)
    hit(schools, at, visitor="g", copy=Copy.OUR_SITE)
    for _ in range(3):
        hit(harbor, at, filtered=filters.BOT)
    hit(harbor, at, filtered=filters.PREFETCH)
    count()


# Who may look

@pytest.mark.parametrize("name, args", [("overview", []), ("story", [1]), ("republisher", ["partner.example"])])
def test_anonymous_visitors_are_sent_to_the_admin_login(client, name, args):
    url = reverse(f"tracking_readers:{name}", args=args)
    for address in (url, url + "?format=csv"):
        response = client.get(address)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("wagtailadmin_login"))


def test_users_without_admin_access_are_turned_away(client, django_user_model, counted):
    client.force_login(django_user_model.objects.create_user("reader", "reader@example.org", "pw"))
    response = client.get(overview_url(format="csv"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("wagtailadmin_login"))


def test_the_admin_menu_has_readers(editor):
    html = editor.get(reverse("wagtailadmin_home")).content.decode()
    assert "Readers" in html and reverse("tracking_readers:overview") in html


# The site overview

def test_overview_shows_hits_views_readers_and_filtered_hits(editor, counted):
    response = editor.get(overview_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert '{% extends' not in html and 'id="wagtail-sidebar"' in html  # the admin's own furniture
    # 9 hits passed the filters, 4 did not; 8 views (a's second hit came within 30 minutes); 7 readers
    # (a came back an hour later: a new view, the same reader).
    assert totals_of(response) == (
        f"13 hits (requests to the pixel) 4 filtered (hits not counted: bots, previews…) 8 views {VIEWS} "
        f"7 readers {READERS}")


def test_overview_lists_top_stories_and_republishers_with_links_to_their_pages(editor, counted, harbor, schools):
    html = editor.get(overview_url()).content.decode()
    stories = html[html.index('id="top-stories"'):html.index('id="top-republishers"')]
    assert stories.index("Harbor cleanup begins") < stories.index("Schools reopen")
    assert f'href="{story_url(harbor)}?from=' in stories and f'href="{story_url(schools)}?from=' in stories
    republishers = html[html.index('id="top-republishers"'):html.index('id="filtered"')]
    assert republishers.index("partner.example") < republishers.index("other.example")
    assert f'href="{republisher_url("partner.example")}?from=' in republishers


def test_overview_names_filter_reasons_in_words_with_their_share(editor, counted):
    text = text_of(editor.get(overview_url()).content.decode())
    assert "Reason Hits Share of all hits Bot, crawler, link preview or HTTP library 3 23.1% " \
           "Prefetch or prerender 1 7.7%" in text


def test_charts_are_inline_svg_with_a_summary_for_screen_readers(editor, counted):
    html = editor.get(overview_url()).content.decode()
    svg = chart_of(html)
    label = re.search(r'role="img" aria-label="([^"]+)"', svg).group(1)
    day = days_ago(2).date()
    written = date_format(day)  # the site's one way of writing a date
    assert label.startswith("Readers per day from ") and label.endswith(f": 7 in all, most (7) on {written}.")
    assert f"<title>{written}: 7 readers</title>" in svg
    assert svg.count("<rect") == 30  # one bar per day of the default range, empty days included
    assert not re.search(r"<script[^>]+src=\"https?://", html)  # no chart library from elsewhere


def test_an_empty_period_says_so(editor, counted):
    response = editor.get(overview_url(from_="2001-01-01", to="2001-01-31"))
    text = text_of(response.content.decode())
    assert totals_of(response).endswith(f"0 views {VIEWS} 0 readers {READERS}")
    assert "No story had a reader in this period." in text
    assert "No hits were filtered in this period." in text


# One story

def test_story_page_lists_each_copy_with_views_and_readers(editor, counted, harbor):
    response = editor.get(story_url(harbor))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Readers of “Harbor cleanup begins”" in text_of(html)
    assert totals_of(response) == f"8 hits (that passed the filters) 7 views {VIEWS} 6 readers {READERS} 3 copies"
    copies = text_of(html[html.index('id="copies"'):])
    # Most readers first: the partner's copy (2 views by a, 1 each by b and c), our site, the other partner.
    assert re.search(r"partner\.example/2026/harbor-cleanup/ All copies on partner\.example .+? 4 3 "
                     r".*our site .+? 2 2 .*other\.example/news/harbor All copies on other\.example .+? 1 1", copies)
    assert f'href="{republisher_url("partner.example")}?from=' in html


def test_story_page_shows_first_and_last_seen(editor, counted, harbor):
    html = editor.get(story_url(harbor)).content.decode()
    first = timezone.localtime(days_ago(2))
    last = first + timedelta(hours=1)
    row = html[html.index(PARTNER_COPY):].split("</tr>")[0]
    assert date_format(first, "DATETIME_FORMAT") in row and date_format(last, "DATETIME_FORMAT") in row


def test_copy_urls_are_shown_as_text_never_as_links(editor, harbor):
    hit(harbor, days_ago(1), visitor="x", copy=HOSTILE)
    hit(harbor, days_ago(1), visitor="y", copy="javascript:alert(1)")
    count()
    for url in (story_url(harbor), republisher_url("evil.example")):
        html = editor.get(url).content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<script>alert(1)" not in html
        hrefs = re.findall(r'href="([^"]*)"', html)
        assert not [href for href in hrefs if "//evil.example" in href or "javascript:" in href]
    assert 'javascript:alert(1)</span>' in editor.get(story_url(harbor)).content.decode()
    # The overview names republishers by host, linking only to their page here; a copy without a web host
    # (never produced by the pixel, which keeps http(s) addresses only) names no republisher.
    html = editor.get(overview_url()).content.decode()
    republishers = html[html.index('id="top-republishers"'):html.index('id="filtered"')]
    assert re.findall(r'href="([^"]*)"', republishers) == [
        f"{republisher_url('evil.example')}?from={utc_today() - timedelta(days=29)}&amp;to={utc_today()}",
    ]


def test_the_story_edit_page_and_the_explorer_link_to_its_readers(editor, harbor, news):
    html = editor.get(reverse("wagtailadmin_pages:edit", args=[harbor.pk])).content.decode()
    assert f'href="{story_url(harbor)}"' in html
    section = editor.get(reverse("wagtailadmin_pages:edit", args=[news.pk])).content.decode()
    assert "/admin/readers/stories/" not in section
    explorer = editor.get(reverse("wagtailadmin_explore", args=[news.pk])).content.decode()
    assert f'href="{story_url(harbor)}"' in explorer
    assert explorer.count("/admin/readers/stories/") == 1  # stories only, not the section itself


def test_story_page_of_a_story_never_counted_is_empty_and_of_no_story_is_404(editor, harbor):
    response = editor.get(story_url(harbor))
    text = text_of(response.content.decode())
    assert totals_of(response) == f"0 hits (that passed the filters) 0 views {VIEWS} 0 readers {READERS} 0 copies"
    assert "Nobody read this story in this period." in text
    assert editor.get(reverse("tracking_readers:story", args=[987654])).status_code == 404
    assert editor.get(reverse("tracking_readers:story", args=[987654]) + "?format=csv").status_code == 404


def test_a_deleted_story_keeps_its_numbers(editor, counted, schools):
    story_id = schools.pk
    schools.delete()
    response = editor.get(reverse("tracking_readers:story", args=[story_id]))
    assert f"Story {story_id} (deleted)" in text_of(response.content.decode())
    assert totals_of(response) == f"1 hit (that passed the filters) 1 view {VIEWS} 1 reader {READERS} 1 copy"


# One republisher

def test_republisher_page_lists_its_copies_of_every_story(editor, counted, harbor, schools):
    hit(schools, days_ago(1), visitor="h", copy="https://partner.example/2026/schools/")
    count()
    response = editor.get(republisher_url("partner.example"))
    assert response.status_code == 200
    text = text_of(response.content.decode())
    assert "Readers on partner.example" in text
    assert totals_of(response) == f"6 hits (that passed the filters) 5 views {VIEWS} 4 readers {READERS} 2 copies"
    assert re.search(r"Harbor cleanup begins https://partner\.example/2026/harbor-cleanup/ .+? 4 3 "
                     r"Schools reopen https://partner\.example/2026/schools/ .+? 1 1", text)
    assert "other.example" not in text and "our site" not in text


def test_an_unknown_republisher_is_404_and_host_names_ignore_case(editor, counted):
    assert editor.get(republisher_url("nobody.example")).status_code == 404
    assert "Readers on partner.example" in text_of(editor.get(republisher_url("Partner.Example")).content.decode())


# Date ranges

def test_pages_report_the_last_30_days_by_default(editor, harbor):
    hit(harbor, days_ago(29), visitor="in")
    hit(harbor, days_ago(30), visitor="out")
    count()
    response = editor.get(story_url(harbor))
    assert totals_of(response).endswith(f"1 view {VIEWS} 1 reader {READERS} 1 copy")
    assert response.context["period"].start == utc_today() - timedelta(days=29)
    assert response.context["period"].end == utc_today()


def test_from_and_to_choose_whole_utc_days_both_included(editor, harbor):
    hit(harbor, days_ago(10, hour=0), visitor="first-minute")
    hit(harbor, days_ago(8, hour=23), visitor="last-hour")
    hit(harbor, days_ago(11, hour=23), visitor="day-before")
    hit(harbor, days_ago(7, hour=0), visitor="day-after")
    count()
    start, end = days_ago(10).date(), days_ago(8).date()
    for url in (story_url(harbor, from_=start, to=end), overview_url(from_=start, to=end)):
        response = editor.get(url)
        html = response.content.decode()
        assert f"2 views {VIEWS} 2 readers {READERS}" in totals_of(response)
        assert f'value="{start}"' in html and f'value="{end}"' in html
        assert editor.get(url + "&format=csv").status_code == 200
    assert chart_of(editor.get(story_url(harbor, from_=start, to=end)).content.decode()).count("<rect") == 3


@pytest.mark.parametrize("query, message", [
    ({"from_": "2026-13-45"}, "The start date must be a date written YYYY-MM-DD"),
    ({"to": "yesterday"}, "The end date must be a date written YYYY-MM-DD"),
    ({"from_": "2026-11-20", "to": "2026-11-01"}, "The start date (2026-11-20) is after the end date (2026-11-01)."),
    ({"from_": "1900-01-01", "to": "2026-01-01"}, "Choose a range of at most ten years."),
])
def test_bad_dates_get_a_clear_message_and_the_default_range(editor, counted, harbor, query, message):
    for url in (overview_url(**query), story_url(harbor, **query)):
        response = editor.get(url)
        assert response.status_code == 200
        text = text_of(response.content.decode())
        assert message in text and "Showing the last 30 days instead." in text
        assert response.context["period"].start == utc_today() - timedelta(days=29)
        csv_response = editor.get(url + "&format=csv")
        assert csv_response.status_code == 400 and message in csv_response.content.decode()


def test_the_last_possible_day_does_not_break_anything(editor, counted):
    response = editor.get(overview_url(from_="9999-12-01", to="9999-12-31"))
    assert response.status_code == 200 and totals_of(response).endswith(f"0 readers {READERS}")


# CSV for funders

def test_overview_csv_has_one_row_per_story(editor, counted, harbor, schools):
    start, end = utc_today() - timedelta(days=29), utc_today()
    response = editor.get(overview_url(format="csv"))
    assert f'filename="readers-{start}-to-{end}.csv"' in response["Content-Disposition"]
    rows = rows_of(response)
    assert rows == [
        ["Story ID", "Story title", "Story URL", "Views", "Readers", "From (UTC day)", "To (UTC day)"],
        [str(harbor.pk), "Harbor cleanup begins", harbor.full_url, "7", "6", str(start), str(end)],
        [str(schools.pk), "Schools reopen", schools.full_url, "1", "1", str(start), str(end)],
    ]


def test_story_csv_has_one_row_per_copy(editor, counted, harbor):
    rows = rows_of(editor.get(story_url(harbor, format="csv")))
    assert rows[0] == ["Story ID", "Story title", "Copy (URL or origin)", "Republisher (host)", "First seen (UTC)",
                       "Last seen (UTC)", "Hits", "Views", "Readers", "From (UTC day)", "To (UTC day)"]
    seen = days_ago(2)
    assert rows[1][:9] == [str(harbor.pk), "Harbor cleanup begins", PARTNER_COPY, "partner.example",
                           f"{seen:%Y-%m-%d %H:%M}", f"{seen + timedelta(hours=1):%Y-%m-%d %H:%M}", "5", "4", "3"]
    assert [row[2:4] + row[7:9] for row in rows[2:]] == [["our site", "our site", "2", "2"],
                                                        [OTHER, "other.example", "1", "1"]]


def test_republisher_csv_has_one_row_per_copy(editor, counted, harbor):
    response = editor.get(republisher_url("partner.example", format="csv"))
    assert f'filename="republisher-partner.example-copies-{utc_today() - timedelta(days=29)}-to-' in \
        response["Content-Disposition"]
    rows = rows_of(response)
    assert rows[0][:4] == ["Republisher (host)", "Story ID", "Story title", "Copy (URL or origin)"]
    assert [row[:4] + row[6:8] for row in rows[1:]] == [
        ["partner.example", str(harbor.pk), "Harbor cleanup begins", PARTNER_COPY, "4", "3"]]


def test_csv_cells_cannot_run_as_spreadsheet_formulas(editor, news):
    titles = ['=HYPERLINK("https://evil.example","Click")', "+1+1", "-2+3", "@SUM(A1:A2)", "  =1+1",
              "\t=1+1", "Harbor = cleanup"]
    stories = [StoryPageFactory(parent=news, title=title) for title in titles]
    for number, story in enumerate(stories):
        hit(story, days_ago(1), visitor=f"v{number}")
    count()
    rows = rows_of(editor.get(overview_url(format="csv")))
    assert sorted(row[1] for row in rows[1:]) == sorted([
        """'=HYPERLINK("https://evil.example","Click")""", "'+1+1", "'-2+3", "'@SUM(A1:A2)", "'  =1+1",
        "'\t=1+1", "Harbor = cleanup",
    ])
    story_rows = rows_of(editor.get(story_url(stories[0], format="csv")))
    assert story_rows[1][1].startswith("'=HYPERLINK")


def test_neutralise_leaves_numbers_and_ordinary_text_alone():
    assert neutralise(-3) == -3 and neutralise(12) == 12 and neutralise("") == ""
    assert neutralise("https://partner.example/") == "https://partner.example/"
    assert neutralise("-") == "'-" and neutralise("\r") == "'\r"


# The chart function

def test_bar_chart_escapes_its_text_and_summarises_its_data():
    from datetime import date

    points = [(date(2026, 11, 1), 3), (date(2026, 11, 2), 0), (date(2026, 11, 3), 7)]
    svg = str(bar_chart(points, unit="<readers>"))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and 'role="img"' in svg
    assert ('aria-label="&lt;readers&gt; per day from November 1, 2026 to November 3, 2026: 10 in all, most (7) '
            'on November 3, 2026."' in svg)
    assert "<title>November 3, 2026: 7 &lt;readers&gt;</title>" in svg and "<readers>" not in svg
    assert svg.count("<rect") == 3
    assert ">10<" in svg and ">5<" in svg and ">0<" in svg  # the value axis, in round numbers
    assert ">November 1, 2026<" in svg and ">November 3, 2026<" in svg  # the date axis, as the site writes dates


def test_bar_chart_without_data_says_so():
    svg = str(bar_chart([]))
    assert 'aria-label="No readers: nothing was counted in this period."' in svg and "<rect" not in svg


def test_long_ranges_are_charted_by_week_then_month(editor, counted):
    svg = chart_of(editor.get(overview_url(from_="2025-01-01", to="2025-06-30")).content.decode())
    assert 'aria-label="Readers per week from ' in svg and svg.count("<rect") == 27
    svg = chart_of(editor.get(overview_url(from_="2020-01-01", to="2024-12-31")).content.decode())
    assert 'aria-label="Readers per month from ' in svg and svg.count("<rect") == 60
