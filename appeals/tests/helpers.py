from datetime import datetime
from zoneinfo import ZoneInfo

from appeals.models import Appeal, AppealVariant

BROWSER = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")
NEW_YORK, JERUSALEM, UTC = ZoneInfo("America/New_York"), ZoneInfo("Asia/Jerusalem"), ZoneInfo("UTC")


def at(zone, *parts, fold=0):
    return datetime(*parts, tzinfo=zone, fold=fold)


def make_appeal(name="Spring drive", starts_at=None, ends_at=None, sections=(), versions=None, live=True):
    """An appeal with versions given as headings (or dicts of fields); one version by default."""
    versions = versions or [name]
    variants = []
    for n, version in enumerate(versions):
        fields = {"heading": version} if isinstance(version, str) else dict(version)
        fields.setdefault("button_url", f"https://donate.example.org/{name.lower().replace(' ', '-')}/{n}")
        fields.setdefault("button_label", "Give")
        variants.append(AppealVariant(sort_order=n, **fields))
    appeal = Appeal(name=name, starts_at=starts_at, ends_at=ends_at, live=live)
    appeal.variants = variants
    appeal.sections = list(sections)
    appeal.save()
    return appeal
