"""The reach report for funders: how many people read our stories on our site and on the copies partners
republished, over whole UTC days, for every partner or one (issue #20).

`build(start, end, partner=None)` returns a `Reach`; `render(reach, format)` turns it into the bytes of an
HTML page, a PDF (that page drawn by WeasyPrint) or a CSV file. `manage.py reach_report` and the admin's
Reach report page (`partners.admin_views`) only parse what they are asked and call these two.

Every number comes from tracking's hourly rollups (read through `Copy.rollups`, tracking.api's `Copy`), the
same rows the Readers pages add up, so the report's totals are the dashboard's for the same days. Words as in
docs/tracking.md: a *view* is a hit that passed the filters, once per visitor and story within 30 minutes; a
*reader* the first view per visitor, story and UTC day. A *republished copy* is every copy that is not our
site: a partner's page, a page of a site that is no partner, or a page that sent no address.

The CSV (`CSV_HEADER`), one row per figure or table row, in this order:

- `Figures`: "Readers on our site" (views, readers), "Readers on republished copies" (or on the partner's
  copies: copies, views, readers), "Readers in all" (our site and those copies: views, readers; without a
  partner, the Readers overview's totals), "Extra reach" (`Value`: readers on copies per reader on our site,
  empty when our site had none, `Note` says so), "Partners whose copies were read" (`Value`).
- `Partner`: one row per partner whose copies were read (copies, views, readers), then "Sites of no partner"
  and "Unknown page (no address sent)" when they had readers: the rows add up to the copies' figure.
- `Top stories by copies`, `Top stories by readers`: ten each, with `Story ID`, copies (in the report's
  scope) and views and readers in the report's scope (without a partner our site and every copy, with one
  that partner's copies).
- `Week`: `Item` the week's first day (weeks start on Monday, cut to the period), views and readers in the
  report's scope: they add up to "Readers in all" (or, with a partner, to its copies' figure).

Every row repeats the scope and the days; text a spreadsheet could run as a formula starts with `'`.
"""

import csv
import dataclasses
import io
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, Sum
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from wagtail.models import Site

from stories.models import NewsroomSettings, StoryPage
from tracking.api import Copy, Rollup, bar_chart, neutralise, period_from

from .models import Partner

FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8"}
TOP = 10
NO_PARTNER = "Sites of no partner"
UNKNOWN_PAGE = "Unknown page (no address sent)"

CSV_HEADER = ["Section", "Item", "Story ID", "Copies", "Views", "Readers", "Value", "Note", "Scope",
              "From (UTC day)", "To (UTC day)"]


class ReachError(ValueError):
    """What was asked cannot be reported: a bad date or range, an unknown partner or format. Its message
    says why, in words an editor can act on."""


@dataclasses.dataclass
class Counts:
    copies: int = 0  # republished pages with at least one view
    views: int = 0
    readers: int = 0


@dataclasses.dataclass
class PartnerRow:
    name: str
    copies: int
    views: int
    readers: int
    is_partner: bool = True  # False for the sites of no partner and the pages that sent no address


@dataclasses.dataclass
class StoryRow:
    story_id: int
    title: str
    copies: int  # republished copies in the report's scope
    our_readers: int
    copy_readers: int
    views: int  # in the report's scope (see `Reach.scope_readers`)
    readers: int


@dataclasses.dataclass
class WeekRow:
    start: date  # Monday, or the period's first day
    end: date  # Sunday, or the period's last day
    views: int
    readers: int


@dataclasses.dataclass
class Reach:
    start: date
    end: date
    partner: str | None  # the partner's name when the report is for one partner's copies
    outlet: str
    generated_at: datetime
    our_site: Counts  # views and readers on our own site (context only when for one partner)
    copies: Counts  # republished copies in scope: every copy that is not our site, or the partner's
    partners_read: int  # partners with at least one copy read
    partners: list[PartnerRow]
    top_by_copies: list[StoryRow]
    top_by_readers: list[StoryRow]
    weeks: list[WeekRow]

    @property
    def scope(self):
        return f"Partner: {self.partner}" if self.partner is not None else "All partners and sites"

    @property
    def in_all(self):
        """Our site and the copies in scope: without a partner, what the Readers overview counts."""
        return Counts(self.copies.copies, self.our_site.views + self.copies.views,
                      self.our_site.readers + self.copies.readers)

    @property
    def scope_counts(self):
        """What the weeks and the story rankings count: everything, or the partner's copies."""
        return self.copies if self.partner is not None else self.in_all

    @property
    def extra_reach(self):
        """Readers on copies per reader on our site, to two decimals; None when our site had none."""
        if not self.our_site.readers:
            return None
        ratio = Decimal(self.copies.readers) / Decimal(self.our_site.readers)
        return ratio.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def copies_label(self):
        return f"{self.partner}'s copies" if self.partner is not None else "republished copies"

    @property
    def extra_reach_text(self):
        """The extra reach in one sentence, also when it cannot be a ratio."""
        ratio = self.extra_reach
        copies = self.copies_label
        if ratio is not None:
            return (f"For every reader on our site, {copies} brought {ratio} more "
                    f"({self.copies.readers:,} readers on copies, {self.our_site.readers:,} on our site).")
        if self.copies.readers:
            return (f"Our site had no readers in this period, so there is no ratio: all "
                    f"{self.copies.readers:,} readers came from {copies}.")
        return "No readers were counted on our site or on copies in this period, so there is no extra reach."

    @property
    def chart(self):
        # Inline SVG, in the page and the PDF alike (WeasyPrint draws SVG).
        return bar_chart([(week.start, week.readers) for week in self.weeks], unit="readers", period="week")


# Building the report

def parse_period(start, end, now=None):
    """The `Period` (tracking.api) of the UTC days `start` to `end` (YYYY-MM-DD, both included), or
    ReachError saying what is wrong with them."""
    if not start or not end:
        raise ReachError("Give both dates, From and To, written YYYY-MM-DD (e.g. 2026-11-01).")
    period = period_from({"from": str(start), "to": str(end)}, now=now)
    if period.asked_for_invalid:
        raise ReachError(" ".join(str(error) for error in period.errors))
    return period


def find_partner(name):
    """The partner called `name` (exactly, else in any case when only one matches), or ReachError."""
    name = (name or "").strip()
    partner = Partner.objects.filter(name=name).first()
    if partner is None:
        matches = list(Partner.objects.filter(name__iexact=name)[:2])
        partner = matches[0] if len(matches) == 1 else None
    if partner is None:
        known = list(Partner.objects.values_list("name", flat=True)[:21])
        listed = ", ".join(known[:20]) + (", …" if len(known) > 20 else "") if known else "none yet"
        raise ReachError(f"No partner is called {name!r}. Partners: {listed}.")
    return partner


def check_format(name):
    name = (name or "").strip().lower()
    if name not in FORMATS:
        raise ReachError(f"Unknown format {name!r}: choose pdf, html or csv.")
    return name


def build(start, end, partner=None, now=None):
    """The reach report for the UTC days `start` to `end` (dates, both included); for `partner`'s copies
    only when given (our site is still counted, for context)."""
    period = parse_period(start.isoformat(), end.isoformat(), now=now)
    since, until = period.since, period.until
    rollups = Rollup.objects.filter(hour__gte=since)
    if until is not None:
        rollups = rollups.filter(hour__lt=until)
    if partner is not None:
        rollups = rollups.filter(Q(copy__url=Copy.OUR_SITE) | Q(copy__in=partner.copies()))

    # One row per copy read in the period.
    per_copy = (rollups.values("copy", "copy__story_id", "copy__url", "copy__found_url", "copy__host")
                .annotate(views=Sum("views"), readers=Sum("readers")).order_by())
    owner = Partner.objects.owners() if partner is None else None  # with `partner`, every copy is its
    our_site, copies = Counts(), Counts()
    by_bucket = {}  # (is a partner, its name or NO_PARTNER or UNKNOWN_PAGE): [pages, views, readers]
    stories = {}  # story id: {"pages": set, "our": readers, "copy": readers, "views": views in scope}
    for row in per_copy:
        url, views, readers = row["copy__url"], row["views"] or 0, row["readers"] or 0
        story = stories.setdefault(row["copy__story_id"], {"pages": set(), "our": 0, "copy": 0, "views": 0})
        if url == Copy.OUR_SITE:
            our_site.views += views
            our_site.readers += readers
            story["our"] += readers
            if partner is None:
                story["views"] += views
            continue
        copies.views += views
        copies.readers += readers
        story["copy"] += readers
        story["views"] += views
        name = partner.name if partner is not None else getattr(owner(url, row["copy__host"]), "name", None)
        bucket = (True, name) if name is not None else (False, NO_PARTNER if row["copy__host"] else UNKNOWN_PAGE)
        counts = by_bucket.setdefault(bucket, [set(), 0, 0])
        counts[1] += views
        counts[2] += readers
        if views:  # one page, however many copies name it (a site's copy whose page Byline found: Copy.address)
            page = (row["copy__story_id"], row["copy__found_url"] or url)
            story["pages"].add(page)
            counts[0].add(page)
    copies.copies = len({page for counts in by_bucket.values() for page in counts[0]})

    table = [PartnerRow(name, len(pages), views, readers, is_partner)
             for (is_partner, name), (pages, views, readers) in by_bucket.items()]
    table.sort(key=lambda row: (0, -row.readers, -row.copies, row.name.casefold()) if row.is_partner
               else (1, row.name == UNKNOWN_PAGE))  # partners, most read first; then the others
    partners_read = sum(1 for row in table if row.is_partner and row.copies)

    story_rows = _story_rows(stories, partner is not None)
    by_copies = sorted((row for row in story_rows if row.copies),
                       key=lambda row: (-row.copies, -row.copy_readers, -row.readers, row.story_id))[:TOP]
    by_readers = sorted((row for row in story_rows if row.readers),
                        key=lambda row: (-row.readers, -row.views, row.story_id))[:TOP]
    scope_rollups = rollups.exclude(copy__url=Copy.OUR_SITE) if partner is not None else rollups
    return Reach(
        start=period.start, end=period.end, partner=partner.name if partner is not None else None,
        outlet=_outlet(), generated_at=now or timezone.now(), our_site=our_site, copies=copies,
        partners_read=partners_read, partners=table, top_by_copies=by_copies, top_by_readers=by_readers,
        weeks=_weeks(scope_rollups, period.start, period.end, now),
    )


def _story_rows(stories, for_partner):
    titles = dict(StoryPage.objects.filter(pk__in=list(stories)).values_list("pk", "title"))
    rows = []
    for story_id, story in stories.items():
        readers = story["copy"] if for_partner else story["our"] + story["copy"]
        rows.append(StoryRow(story_id=story_id, title=titles.get(story_id, f"Story {story_id} (deleted)"),
                             copies=len(story["pages"]), our_readers=story["our"], copy_readers=story["copy"],
                             views=story["views"], readers=readers))
    return rows


def _weeks(rollups, start, end, now=None):
    """Views and readers per week (Monday to Sunday, cut to the period), up to this week: one query grouped
    by hour, folded into weeks here (as tracking's reports fold days)."""
    today = (now or timezone.now()).astimezone(UTC).date()
    last = min(end, max(today, start))
    weeks = {}
    monday = start - timedelta(days=start.weekday())
    while monday <= last:
        weeks[monday] = WeekRow(max(monday, start), min(monday + timedelta(days=6), end), 0, 0)
        monday += timedelta(days=7)
    hours = rollups.values("hour").annotate(views=Sum("views"), readers=Sum("readers")).order_by("hour")
    for row in hours:
        day = row["hour"].astimezone(UTC).date()
        week = weeks.get(day - timedelta(days=day.weekday()))
        if week is None:  # a day after today (a clock ahead): counted in the last week shown
            week = weeks[max(weeks)]
        week.views += row["views"] or 0
        week.readers += row["readers"] or 0
    return list(weeks.values())


def _outlet():
    site = Site.objects.filter(is_default_site=True).first()
    return NewsroomSettings.for_site(site).outlet_name if site is not None else ""


# Rendering

def render(reach, fmt):
    """The report as bytes in `fmt` (pdf, html or csv)."""
    fmt = check_format(fmt)
    if fmt == "csv":
        return csv_bytes(reach)
    html = render_html(reach)
    return pdf_bytes(html) if fmt == "pdf" else html.encode("utf-8")


def render_html(reach):
    return render_to_string("partners/reach/report.html", {"reach": reach, "method": METHOD})


def pdf_bytes(html):
    """`html` drawn by WeasyPrint. The page carries everything it shows (styles, SVG), and WeasyPrint is given a
    fetcher that fetches nothing: no text in the page can make the server read a file or a URL."""
    from PIL import ImageFile

    # Loaded on demand: it loads Pango, which only the PDF needs. Importing it turns on Pillow's
    # LOAD_TRUNCATED_IMAGES for the whole process, which would let truncated agency pictures through
    # (wire/pictures.py refuses them): the setting is put back as it was.
    truncated = ImageFile.LOAD_TRUNCATED_IMAGES
    import weasyprint

    ImageFile.LOAD_TRUNCATED_IMAGES = truncated

    class FetchNothing(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            raise ValueError(f"The reach report loads nothing from outside ({url[:100]!r}).")

    return weasyprint.HTML(string=html, url_fetcher=FetchNothing()).write_pdf()


def csv_rows(reach):
    """The CSV's rows after its header (`CSV_HEADER`; the layout is in this module's docstring)."""
    tail = [reach.scope, reach.start.isoformat(), reach.end.isoformat()]
    ratio = reach.extra_reach
    rows = [
        ["Figures", "Readers on our site", "", "", reach.our_site.views, reach.our_site.readers, "", ""],
        ["Figures", f"Readers on {reach.copies_label}", "", reach.copies.copies, reach.copies.views,
         reach.copies.readers, "", ""],
        ["Figures", f"Readers in all (our site and {reach.copies_label})", "", reach.in_all.copies,
         reach.in_all.views, reach.in_all.readers, "", ""],
        ["Figures", "Extra reach (readers on copies per reader on our site)", "", "", "", "",
         "" if ratio is None else str(ratio), reach.extra_reach_text],
        ["Figures", "Partners whose copies were read", "", "", "", "", reach.partners_read, ""],
    ]
    rows += [["Partner", row.name, "", row.copies, row.views, row.readers, "", ""] for row in reach.partners]
    for section, stories in (("Top stories by copies", reach.top_by_copies),
                             ("Top stories by readers", reach.top_by_readers)):
        rows += [[section, row.title, row.story_id, row.copies, row.views, row.readers, "", ""] for row in stories]
    rows += [["Week", week.start.isoformat(), "", "", week.views, week.readers, "", ""] for week in reach.weeks]
    return [[neutralise(cell) for cell in row + tail] for row in rows]


def csv_bytes(reach):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(reach))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the mark: spreadsheet programs then read UTF-8


def filename(reach, fmt):
    who = slugify(reach.partner)[:60] if reach.partner is not None else "all"
    return f"reach-{who or 'partner'}-{reach.start.isoformat()}-to-{reach.end.isoformat()}.{fmt}"


METHOD = (
    "How we count. Every copy of a story, on our site and on partners' pages, carries a one-pixel image; "
    "each request for it is a hit. A view is a hit that passed our filters, counted once per visitor and "
    "story within 30 minutes. A reader is a visitor's first view of a story on a UTC day, so someone who "
    "reads a story on two days, or on two sites, counts twice. Filtered hits never count: bots, crawlers and "
    "link previews, requests with no browser named, prefetching, partners' editors previewing their copy, "
    "unsigned or malformed requests, too many hits from one visitor or too many pages from one reader, and "
    "stories that are not published. Counting is cookieless: nothing is stored in the browser, and a visitor "
    "is a key computed in memory from the address and browser with a secret that changes every day and is "
    "deleted after two days; no address or browser identity is kept. A republished copy is any page other "
    "than our site: a partner's page, a page of a site that is not a partner, or a page whose browser sent "
    "no address. Days are UTC days."
)
