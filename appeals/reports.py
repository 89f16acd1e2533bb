"""The numbers on the Appeals → Results page: views, clicks, click-through rate with its 95 % Wilson interval per
version, and how each version compares with the first (version A), from the hourly `VariantCount` rows.

`results(since, until)` takes aware datetimes (`since` inclusive, `until` exclusive, either may be None) and
returns plain dicts and lists.
"""

from django.db.models import Q, Sum
from django.utils import timezone

from .models import EVERGREEN, Appeal, FilteredEvent, VariantCount, version_letter
from .recording import REASONS
from .stats import difference, wilson


def _in_range(queryset, since, until):
    if since:
        queryset = queryset.filter(hour__gte=since)
    if until:
        queryset = queryset.filter(hour__lt=until)
    return queryset


def percent(value, digits=2):
    return "–" if value is None else f"{value * 100:.{digits}f} %"


def version_row(label, letter, views, clicks, variant=None, deleted=False):
    interval = wilson(clicks, views)
    ctr = clicks / views if views else None
    return {
        "label": label, "letter": letter, "variant": variant, "deleted": deleted,
        "views": views, "clicks": clicks, "ctr": ctr, "ctr_text": percent(ctr),
        "low": interval[0] if interval else None, "high": interval[1] if interval else None,
        "interval_text": f"{percent(interval[0])} – {percent(interval[1])}" if interval else "–",
        "more_clicks_than_views": clicks > views,
    }


def compare(versions):
    """Each version after the first against the first (with views), by the 95 % interval of the difference."""
    base = next((v for v in versions if v["views"]), None)
    comparisons = []
    if base is None:
        return comparisons
    for other in versions:
        if other is base or not other["views"]:
            continue
        estimate, low, high = difference(base["clicks"], base["views"], other["clicks"], other["views"])
        name, base_name = f"Version {other['letter']}", f"version {base['letter']}"
        if low > 0:
            verdict, clear = f"{name} gets clicked more than {base_name}.", "better"
        elif high < 0:
            verdict, clear = f"{name} gets clicked less than {base_name}.", "worse"
        else:
            verdict, clear = f"No clear difference yet between {name.lower()} and {base_name}.", ""
        comparisons.append({
            "version": other["letter"], "base": base["letter"], "estimate": estimate, "low": low, "high": high,
            "difference_text": f"{estimate * 100:+.2f} points",
            "interval_text": f"{low * 100:+.2f} to {high * 100:+.2f} points",
            "verdict": verdict, "clear": clear,
        })
    return comparisons


def results(since=None, until=None, now=None):
    """One group per appeal (the evergreen appeal first), each with its versions' numbers and comparisons."""
    now = now or timezone.now()
    counts = {
        row["variant_id"]: row
        for row in _in_range(VariantCount.objects.all(), since, until)
        .values("variant_id", "appeal_id").annotate(views=Sum("views"), clicks=Sum("clicks"))
    }
    by_appeal = {}
    for row in counts.values():
        by_appeal.setdefault(row["appeal_id"], []).append(row)

    groups = []
    evergreen = counts.get(EVERGREEN, {"views": 0, "clicks": 0})
    groups.append({
        "appeal": None, "name": "Evergreen appeal", "kind": "Settings → Support", "status": "",
        "versions": [version_row("Evergreen appeal", "", evergreen["views"], evergreen["clicks"])],
        "comparisons": [],
    })

    shown = Appeal.objects.filter(
        Q(pk__in=[appeal_id for appeal_id in by_appeal if appeal_id != EVERGREEN])
        | Q(starts_at__isnull=True) | Q(ends_at__gt=now)
    ).prefetch_related("variants", "sections").order_by("-starts_at", "name")
    for appeal in sorted(shown, key=lambda a: (a.starts_at is None, -(a.starts_at.timestamp() if a.starts_at else 0),
                                               a.name)):
        versions, known = [], set()
        for index, variant in enumerate(appeal.ordered_variants()):
            known.add(variant.pk)
            row = counts.get(variant.pk, {"views": 0, "clicks": 0})
            label = f"Version {version_letter(index)}" + (f" ({variant.note})" if variant.note else "")
            versions.append(version_row(label, version_letter(index), row["views"], row["clicks"], variant=variant))
        for row in sorted(by_appeal.get(appeal.pk, []), key=lambda r: r["variant_id"]):
            if row["variant_id"] not in known:
                letter = f"#{row['variant_id']}"
                versions.append(version_row(f"Deleted version {letter}", letter, row["views"], row["clicks"],
                                            deleted=True))
        groups.append({
            "appeal": appeal, "name": appeal.name, "kind": appeal.kind, "status": appeal.status(now),
            "sections": [section.title for section in appeal.sections.all()],
            "versions": versions, "comparisons": compare(versions),
        })
    return groups


def filtered(since=None, until=None):
    rows = (_in_range(FilteredEvent.objects.all(), since, until).values("kind", "reason")
            .annotate(events=Sum("events")).order_by("-events", "kind", "reason"))
    return [{**row, "label": REASONS.get(row["reason"], row["reason"])} for row in rows]
