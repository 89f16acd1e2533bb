"""What the Readers pages in the admin, their CSV files and `republication_report` show, built on `reports`.

Date ranges here are whole UTC days, `start` and `end` both included, because the rollups are UTC hours
and `reports.totals_and_days` groups them by UTC day. The views stay thin: they parse the range with
`period_from()`, ask one function here for their numbers and render them.
"""

import dataclasses
from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from stories.models import StoryPage

from .charts import bar_chart
from .filters import REASONS
from .models import Copy
from .reports import default_range, republisher_report, site_overview, story_report, top_stories

DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years: enough for any funder's report, small enough to draw
DATE_FORMAT = "%Y-%m-%d"


def utc_today(now=None):
    return (now or timezone.now()).astimezone(UTC).date()


def default_days(now=None):
    """The last 30 UTC days, today included."""
    since, until = default_range(days=DEFAULT_DAYS - 1, now=now or timezone.now())
    return since.astimezone(UTC).date(), until.astimezone(UTC).date()


def start_of(day):
    return datetime.combine(day, time.min, tzinfo=UTC)


class DateRangeForm(forms.Form):
    """The From/To form on every Readers page (GET parameters `from` and `to`, as YYYY-MM-DD)."""

    def __init__(self, data):
        super().__init__(data)
        for name, label, which in (("from", "From", "start"), ("to", "To", "end")):
            self.fields[name] = forms.DateField(
                label=label, input_formats=[DATE_FORMAT], required=False,  # empty: the default range
                widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT),
                error_messages={"invalid": f"The {which} date must be a date written YYYY-MM-DD, e.g. 2026-11-01."},
            )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end:
            if start > end:
                raise forms.ValidationError(f"The start date ({start}) is after the end date ({end}).")
            if (end - start).days + 1 > MAX_DAYS:
                raise forms.ValidationError("Choose a range of at most ten years.")
        return cleaned


@dataclasses.dataclass
class Period:
    """The UTC days a page reports on, with the form that chose them."""

    start: date
    end: date
    form: DateRangeForm
    asked_for_invalid: bool = False  # the form had errors, so the default range is shown instead

    @property
    def since(self):
        return start_of(self.start)

    @property
    def until(self):
        return start_of(self.end + timedelta(days=1)) if self.end < date.max else None

    @property
    def query(self):
        return {"from": self.start.strftime(DATE_FORMAT), "to": self.end.strftime(DATE_FORMAT)}

    @property
    def errors(self):
        return [error for errors in self.form.errors.values() for error in errors]


def period_from(params, now=None):
    """The range asked for in GET `params` (missing dates default to the last 30 days), or the default range
    with the form's errors when a date is invalid."""
    default_start, default_end = default_days(now)
    form = DateRangeForm({
        "from": params.get("from") or default_start.strftime(DATE_FORMAT),
        "to": params.get("to") or default_end.strftime(DATE_FORMAT),
    })
    if form.is_valid():
        return Period(form.cleaned_data["from"], form.cleaned_data["to"], form)
    return Period(default_start, default_end, form, asked_for_invalid=True)


def chart_points(by_day, start, end, key="readers", today=None):
    """(day, value) for every day from `start` to `end` (not beyond today), zeros included; by week over
    three months, by month over two years. Returns (points, period)."""
    end = min(end, max(today or utc_today(), start))
    values = {row["day"]: row[key] for row in by_day}
    days = (end - start).days + 1
    if days <= 92:
        period, bucket = "day", lambda day: day
    elif days <= 731:
        period, bucket = "week", lambda day: day - timedelta(days=day.weekday())
    else:
        period, bucket = "month", lambda day: day.replace(day=1)
    buckets = {}
    for offset in range(days):
        day = start + timedelta(days=offset)
        key_day = bucket(day)
        buckets[key_day] = buckets.get(key_day, 0) + values.get(day, 0)
    return sorted(buckets.items()), period


def chart(by_day, period, key="readers"):
    points, per = chart_points(by_day, period.start, period.end, key)
    return bar_chart(points, unit=key, period=per)


def story_title(story_id, page=None):
    return page.title if page is not None else f"Story {story_id} (deleted)"


def overview(period):
    """The site overview: all hits (counted and filtered), views, readers, chart, top lists, filtered reasons."""
    data = site_overview(period.since, period.until)
    filtered_hits = sum(row["hits"] for row in data["filtered"])
    data["totals"] = {**data["totals"], "counted_hits": data["totals"]["hits"], "filtered": filtered_hits,
                      "hits": data["totals"]["hits"] + filtered_hits}
    data["filtered"] = [
        {**row, "label": REASONS.get(row["reason"], row["reason"]),
         "percent": f"{row['hits'] / data['totals']['hits']:.1%}" if data["totals"]["hits"] else "–"}
        for row in data["filtered"]
    ]
    data["chart"] = chart(data["by_day"], period)
    return data


def story(story_id, period):
    """One story's report with its page (None if deleted) and chart; None if we know nothing of the story."""
    page = StoryPage.objects.filter(pk=story_id).first()
    if page is None and not Copy.objects.filter(story_id=story_id).exists():
        return None
    data = story_report(story_id, period.since, period.until)
    data.update(page=page, title=story_title(story_id, page), chart=chart(data["by_day"], period))
    return data


def republisher(host, period):
    """One partner site's copies; None if it has none."""
    data = republisher_report(host.lower(), period.since, period.until)  # copies' hosts are lower-cased
    if not data["copies"]:
        return None
    for row in data["copies"]:
        row["title"] = row["title"] or story_title(row["story_id"])
    data["chart"] = chart(data["by_day"], period)
    return data


def story_urls(story_ids):
    pages = StoryPage.objects.in_bulk(story_ids)
    return {story_id: (page.get_full_url() or "") for story_id, page in pages.items()}


# CSV tables for funders: (header, rows). Datetimes are UTC; the range is repeated on every row so that
# files from different periods can be put together.

def utc(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else ""


def overview_table(period):
    rows = top_stories(period.since, period.until, limit=None)
    urls = story_urls([row["story_id"] for row in rows])
    header = ["Story ID", "Story title", "Story URL", "Views", "Readers", "From (UTC day)", "To (UTC day)"]
    return header, [
        [row["story_id"], row["title"], urls.get(row["story_id"], ""), row["views"], row["readers"],
         period.start.isoformat(), period.end.isoformat()]
        for row in rows
    ]


def story_table(data, period):
    header = ["Story ID", "Story title", "Copy (URL or origin)", "Republisher (host)", "First seen (UTC)",
              "Last seen (UTC)", "Hits", "Views", "Readers", "From (UTC day)", "To (UTC day)"]
    return header, [
        [data["story_id"], data["title"], row["url"], row["host"] or ("our site" if row["own"] else ""),
         utc(row["first_seen"]), utc(row["last_seen"]), row["hits"], row["views"], row["readers"],
         period.start.isoformat(), period.end.isoformat()]
        for row in data["copies"]
    ]


def republisher_table(data, period):
    header = ["Republisher (host)", "Story ID", "Story title", "Copy (URL or origin)", "First seen (UTC)",
              "Last seen (UTC)", "Views", "Readers", "From (UTC day)", "To (UTC day)"]
    return header, [
        [data["host"], row["story_id"], row["title"], row["url"], utc(row["first_seen"]), utc(row["last_seen"]),
         row["views"], row["readers"], period.start.isoformat(), period.end.isoformat()]
        for row in data["copies"]
    ]


FORMULA_STARTS = ("=", "+", "-", "@")
CONTROL_STARTS = ("\t", "\r", "\n")


def neutralise(value):
    """A cell a spreadsheet will show as text, never run as a formula: text starting with = + - @ (after any
    spaces) or with a tab or line break gets a leading apostrophe. Numbers are left alone."""
    if isinstance(value, str) and (value.startswith(CONTROL_STARTS) or value.lstrip(" ").startswith(FORMULA_STARTS)):
        return "'" + value
    return value


# republication_report: one object per story.

def republication(story_id=None, since=None):
    """Stories with their copies' views and readers since `since` (all counted time if None), most read
    first; only `story_id` when given (None if we know nothing of it)."""
    if story_id is None:
        ids = [row["story_id"] for row in top_stories(since, None, limit=None)]
    else:
        if not StoryPage.objects.filter(pk=story_id).exists() and not Copy.objects.filter(story_id=story_id).exists():
            return None
        ids = [story_id]
    pages = StoryPage.objects.in_bulk(ids)
    stories = []
    for sid in ids:
        page = pages.get(sid)
        report = story_report(sid, since)
        stories.append({
            "story_id": sid, "title": story_title(sid, page), "url": (page.get_full_url() or "") if page else "",
            "copies": [{"copy": row["url"], "first_seen": row["first_seen"], "last_seen": row["last_seen"],
                        "views": row["views"], "readers": row["readers"],
                        "found_by_byline": row["found_by_byline"], "origin": row["origin"],
                        "finding": row["finding"]} for row in report["copies"]],
        })
    return stories
