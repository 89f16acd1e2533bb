"""The numbers editors, funders and "Most Popular" read, all from the hourly rollups.

Every function takes a date range as aware datetimes (`since` inclusive, `until` exclusive) and returns plain
dicts and lists, so the admin views, the CSV export and `republication_report` share them.
"""

from datetime import UTC, timedelta

from django.core.cache import cache
from django.db.models import BigIntegerField, Count, F, Func, Sum
from django.utils import timezone

from stories.models import StoryPage

from .models import Copy, FilteredCount, Rollup

POPULAR_CACHE_SECONDS = 60


def default_range(days=30, now=None):
    now = now or timezone.now()
    return now - timedelta(days=days), now


def _in_range(queryset, since, until, field="hour"):
    if since:
        queryset = queryset.filter(**{f"{field}__gte": since})
    if until:
        queryset = queryset.filter(**{f"{field}__lt": until})
    return queryset


def popular_story_ids(window_hours=48, include_copies=False, limit=4, now=None):
    """Story ids ranked by readers over the last `window_hours`, on our site only or with every copy."""
    now = now or timezone.now()
    rollups = Rollup.objects.filter(hour__gte=now - timedelta(hours=window_hours))
    if not include_copies:
        rollups = rollups.filter(own=True)
    # Grouped by "+story_id", not the bare column: a bare column lets SQLite walk the whole (story_id, hour)
    # index to group in order (40 ms over 10 million hits) instead of reading the window's hours from the
    # covering index (5 ms). The unary plus changes nothing else, on PostgreSQL either.
    story = Func(F("story_id"), template="+%(expressions)s", output_field=BigIntegerField())
    ranked = (rollups.annotate(story=story).values("story").annotate(readers=Sum("readers"))
              .filter(readers__gt=0).order_by("-readers", "-story"))
    return [row["story"] for row in ranked[: limit * 3]]


def most_popular(window_hours=48, include_copies=False, limit=4, exclude=None):
    """Published stories ranked by readers, cached for a minute; [] when nobody has read anything yet."""
    key = f"tracking:popular:{window_hours}:{int(include_copies)}:{limit}"
    ids = cache.get(key)
    if ids is None:
        ids = popular_story_ids(window_hours, include_copies, limit)
        cache.set(key, ids, POPULAR_CACHE_SECONDS)
    stories = StoryPage.objects.live().public().in_bulk([i for i in ids if exclude is None or i != exclude.pk])
    return [stories[i] for i in ids if i in stories][:limit]


def totals_and_days(rollups):
    """(totals, by_day) of `rollups`: hits, views and readers in all, and views and readers per UTC day.

    One query grouped by hour, folded into days here: truncating each row's hour to its day in SQL runs a
    Python function per row on SQLite (Django's TruncDay there), 0.6 s over a month of 158,000 rollups,
    where a month has only 720 hours."""
    totals = {"hits": 0, "views": 0, "readers": 0}
    days = {}
    hours = rollups.values("hour").annotate(hits=Sum("hits"), views=Sum("views"), readers=Sum("readers"))
    for row in hours.order_by("hour"):
        for key in totals:
            totals[key] += row[key]
        day = row["hour"].astimezone(UTC).date()
        counts = days.get(day)
        if counts is None:
            days[day] = {"day": day, "views": row["views"], "readers": row["readers"]}
        else:
            counts["views"] += row["views"]
            counts["readers"] += row["readers"]
    return totals, list(days.values())


def story_report(story_id, since=None, until=None):
    """One story: totals, each copy (URL or origin, first and last seen, views, readers), readers per day."""
    rollups = _in_range(Rollup.objects.filter(story_id=story_id), since, until)
    per_copy = {
        row["copy"]: row
        for row in rollups.values("copy").annotate(hits=Sum("hits"), views=Sum("views"), readers=Sum("readers"))
    }
    copies = _by_address(Copy.objects.filter(pk__in=per_copy.keys()), per_copy, ("hits", "views", "readers"))
    copies.sort(key=lambda row: (-row["readers"], row["url"]))
    totals, by_day = totals_and_days(rollups)
    return {"story_id": story_id, "totals": totals, "copies": copies, "by_day": by_day}


def _by_address(copies, counts, fields):
    """One row per page: a copy known by its site whose page Byline found (Copy.found_url) shares its row
    with the copy whose hits named that page, if any, so one page's readers are one figure."""
    rows = {}
    for copy in copies:
        own_counts = counts.get(copy.pk, {})
        key = (copy.story_id, copy.address)
        row = rows.get(key)
        if row is None:
            rows[key] = row = {
                "copy": copy, "url": str(copy), "story_id": copy.story_id, "host": copy.host, "own": copy.is_own,
                "first_seen": copy.first_seen, "last_seen": copy.last_seen,
                "found_by_byline": False, "origin": "", "finding": "", **dict.fromkeys(fields, 0),
            }
        else:
            row["first_seen"] = min(row["first_seen"], copy.first_seen)
            row["last_seen"] = max(row["last_seen"], copy.last_seen)
        for name in fields:
            row[name] += own_counts.get(name, 0)
        if copy.is_origin_only:
            row.update(found_by_byline=bool(copy.found_url), origin=copy.url, finding=copy.finding())
    return list(rows.values())


def top_stories(since=None, until=None, limit=10):
    rows = (_in_range(Rollup.objects.all(), since, until).values("story_id")
            .annotate(views=Sum("views"), readers=Sum("readers")).order_by("-readers", "-views", "story_id")[:limit])
    titles = dict(StoryPage.objects.filter(pk__in=[r["story_id"] for r in rows]).values_list("pk", "title"))
    return [{**row, "title": titles.get(row["story_id"], f"Story {row['story_id']} (deleted)")} for row in rows]


def top_republishers(since=None, until=None, limit=10):
    """Partner sites (by host) ranked by readers of their copies; our own site is left out."""
    rows = (_in_range(Rollup.objects.filter(own=False).exclude(copy__host=""), since, until).values("copy__host")
            .annotate(copies=Count("copy", distinct=True), views=Sum("views"), readers=Sum("readers"))
            .order_by("-readers", "copy__host")[:limit])
    return [{"host": row["copy__host"], "copies": row["copies"], "views": row["views"], "readers": row["readers"]}
            for row in rows]


def republisher_report(host, since=None, until=None):
    """One partner site: every copy it published, of which story, with views and readers."""
    copies = list(Copy.objects.filter(host=host))
    rollups = _in_range(Rollup.objects.filter(copy__host=host), since, until)
    counts = {row["copy"]: row for row in rollups.values("copy").annotate(views=Sum("views"), readers=Sum("readers"))}
    titles = dict(StoryPage.objects.filter(pk__in={c.story_id for c in copies}).values_list("pk", "title"))
    rows = _by_address(copies, counts, ("views", "readers"))
    for row in rows:
        row["title"] = titles.get(row["story_id"], "")
    rows.sort(key=lambda row: (-row["readers"], row["url"]))
    totals, by_day = totals_and_days(rollups)
    return {"host": host, "copies": rows, "totals": totals, "by_day": by_day}


def copies_report(copies, since=None, until=None):
    """A set of copies (a queryset of Copy: one partner's, say): the totals, per copy and per story, with the
    copies' first and last hit. Views and readers add up as in every report: per copy and hour."""
    copies = list(copies)
    rollups = _in_range(Rollup.objects.filter(copy__in=[copy.pk for copy in copies]), since, until)
    counts = {row["copy"]: row for row in rollups.values("copy").annotate(views=Sum("views"), readers=Sum("readers"))}
    titles = dict(StoryPage.objects.filter(pk__in={c.story_id for c in copies}).values_list("pk", "title"))
    rows = _by_address(copies, counts, ("views", "readers"))
    stories = {}
    for row in rows:
        row["title"] = titles.get(row["story_id"], f"Story {row['story_id']} (deleted)")
        story = stories.setdefault(row["story_id"], {"story_id": row["story_id"], "title": row["title"], "copies": 0,
                                                     "views": 0, "readers": 0})
        story["copies"] += 1
        story["views"] += row["views"]
        story["readers"] += row["readers"]
    rows.sort(key=lambda row: (-row["readers"], row["url"]))
    totals, by_day = totals_and_days(rollups)
    return {"copies": rows, "stories": sorted(stories.values(), key=lambda s: (-s["readers"], s["story_id"])),
            "totals": totals, "by_day": by_day,
            "first_seen": min((c.first_seen for c in copies), default=None),
            "last_seen": max((c.last_seen for c in copies), default=None)}


def filtered_by_reason(since=None, until=None):
    rows = (_in_range(FilteredCount.objects.all(), since, until).values("reason").annotate(hits=Sum("hits"))
            .order_by("-hits", "reason"))
    return [{"reason": row["reason"], "hits": row["hits"]} for row in rows]


def site_overview(since=None, until=None):
    totals, by_day = totals_and_days(_in_range(Rollup.objects.all(), since, until))
    return {
        "totals": totals,
        "by_day": by_day,
        "top_stories": top_stories(since, until),
        "top_republishers": top_republishers(since, until),
        "filtered": filtered_by_reason(since, until),
    }
