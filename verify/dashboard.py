"""What the "Copies" pages in the admin show: every copy's latest verification, per story and per
republisher, and one verification's checks with their evidence and the copy's history."""

from django.db.models import Q

from stories.models import StoryPage
from tracking.api import Copy

from .checks import CHECKS, LABELS
from .models import ManualCopy, Verification
from .runner import copy_target, latest, manual_target, page_targets, targets

STATUS_ORDER = [Verification.ISSUES, Verification.REMOVED, Verification.UNREACHABLE, Verification.COMPLIANT]
STATUS_LABELS = dict(Verification.STATUS_CHOICES)


def _latest_by_key(verifications):
    return {verification.target_key: verification for verification in verifications}


def _rows(chosen):
    copies = [t.id for t in chosen if t.kind == "copy"]
    manuals = [t.id for t in chosen if t.kind == "manual"]
    newest = _latest_by_key(latest(Verification.objects.filter(Q(copy_id__in=copies) | Q(manual_id__in=manuals))))
    titles = dict(StoryPage.objects.filter(pk__in={t.story_id for t in chosen}).values_list("pk", "title"))
    rows = []
    for target in chosen:
        verification = newest.get(target.key)
        rows.append({
            "target": target, "latest": verification, "title": titles.get(target.story_id, f"Story {target.story_id}"),
            "source": "pixel" if target.kind == "copy" else "editor",
            "status": verification.status if verification else "", "host": target.host,
        })
    rows.sort(key=lambda row: (_rank(row["status"]), row["title"], row["target"].url))
    return rows


def _rank(status):
    return STATUS_ORDER.index(status) if status in STATUS_ORDER else len(STATUS_ORDER)


def _counts(rows):
    counts = dict.fromkeys(STATUS_ORDER, 0)
    counts["unchecked"] = 0
    for row in rows:
        counts[row["status"] or "unchecked"] += 1
    return counts


def overview():
    rows = _rows(targets())
    stories, hosts = {}, {}
    for row in rows:
        story = stories.setdefault(row["target"].story_id, {"story_id": row["target"].story_id, "title": row["title"],
                                                            "rows": []})
        story["rows"].append(row)
        hosts.setdefault(row["host"], {"host": row["host"], "rows": []})["rows"].append(row)
    for group in [*stories.values(), *hosts.values()]:
        group["counts"] = _counts(group["rows"])

    def order(group):
        return (-group["counts"][Verification.ISSUES] - group["counts"][Verification.REMOVED],
                group.get("title") or group.get("host"))

    return {"totals": _counts(rows), "stories": sorted(stories.values(), key=order),
            "republishers": sorted(hosts.values(), key=order), "copies": len(rows)}


def story(story_id):
    page = StoryPage.objects.filter(pk=story_id).first()
    chosen = targets(story_id=story_id)
    if page is None and not chosen and not Verification.objects.filter(story_id=story_id).exists():
        return None
    rows = _rows(chosen)
    return {"page": page, "story_id": story_id, "title": page.title if page else f"Story {story_id} (deleted)",
            "rows": rows, "totals": _counts(rows)}


def republisher(host):
    host = host.lower()
    prefixes = Q(url__startswith=f"http://{host}") | Q(url__startswith=f"https://{host}")
    chosen = [copy_target(copy) for copy in page_targets(Copy.objects.filter(prefixes).order_by("story_id", "pk"))]
    chosen += [manual_target(manual) for manual in ManualCopy.objects.filter(prefixes).order_by("story_id", "pk")]
    chosen = [target for target in chosen if target.host == host]
    if not chosen:
        return None
    rows = _rows(chosen)
    return {"host": host, "rows": rows, "totals": _counts(rows)}


def detail(verification):
    history = Verification.objects.filter(copy_id=verification.copy_id, manual_id=verification.manual_id)
    checks = []
    for name in CHECKS:
        result = verification.checks.get(name)
        if result is not None:
            checks.append({"name": name, "label": LABELS[name], **result})
    checks.sort(key=lambda check: {False: 0, True: 1}.get(check.get("ok"), 2))  # what failed first
    title = StoryPage.objects.filter(pk=verification.story_id).values_list("title", flat=True).first()
    link_url = verification.url if verification.url.lower().startswith(("http://", "https://")) else None
    return {"verification": verification, "checks": checks, "history": history[:50], "link_url": link_url,
            "title": title or f"Story {verification.story_id} (deleted)", "page": StoryPage.objects.filter(
                pk=verification.story_id).first()}
