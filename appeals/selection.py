"""Which appeal closes a story at a given moment, and which version of it readers see.

    appeal_for_story(story, support, now)
      1. the slot is switched off in Settings → Support            -> no appeal
      2. the running appeals that apply to the story's section, best first:
           a campaign for this section  >  a site-wide campaign  >  a section appeal (no dates)
         (ties: the campaign that started last, then the newest)   -> one version of it
      3. otherwise                                                  -> the evergreen appeal of Settings → Support

A campaign runs from `starts_at` (included) to `ends_at` (excluded); both are aware datetimes, stored in UTC,
so a boundary means the same instant whatever time zone an editor typed it in.

Versions: `variant_index()` hashes the appeal, the story and the UTC date, so every reader of one story on one
day sees the same version (a cached page stays right all day), different stories and days spread evenly over
the versions, and no cookie or per-reader state is needed.
"""

import hashlib
from datetime import UTC, datetime

from django.db.models import Q
from django.utils import timezone

from .models import Appeal
from .shown import shown_from_settings, shown_from_variant

_DAWN = datetime(1970, 1, 1, tzinfo=UTC)


def now():
    """The clock story pages read; tests replace it rather than sleeping."""
    return timezone.now()


def running_appeals(at):
    """Appeals live at `at`: section appeals, and campaigns with starts_at <= at < ends_at."""
    return list(
        Appeal.objects.filter(live=True)
        .filter(Q(starts_at__isnull=True, ends_at__isnull=True) | Q(starts_at__lte=at, ends_at__gt=at))
        .prefetch_related("sections", "variants")
    )


def rank(appeal, section_id):
    """How strongly `appeal` claims a story in `section_id` (higher wins), or None when it does not apply."""
    section_ids = {section.pk for section in appeal.sections.all()}
    if section_ids and section_id not in section_ids:
        return None
    if not section_ids and not appeal.is_campaign:
        return None  # a section appeal for no section (only possible outside the admin) applies nowhere
    return (appeal.is_campaign, bool(section_ids), appeal.starts_at or _DAWN, appeal.pk or 0)


def choose_appeal(appeals, section_id):
    ranked = [(r, appeal) for appeal in appeals if (r := rank(appeal, section_id)) is not None]
    return max(ranked, key=lambda pair: pair[0])[1] if ranked else None


def utc_day(moment):
    return moment.astimezone(UTC).date()


def variant_index(appeal_id, story_id, day, count):
    """The version (0 … count-1) readers of `story_id` see on UTC `day`: stable, even, cookieless."""
    if count <= 1:
        return 0
    digest = hashlib.sha256(f"appeal:{appeal_id}:story:{story_id}:day:{day.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def appeal_for_story(story, support, now=None, section_id=None, appeals=None):
    """The ShownAppeal closing `story` at `now`, or None when the appeal slot is switched off."""
    if not support.appeal_enabled:
        return None
    now = now or timezone.now()
    if section_id is None:
        section = getattr(story, "section", None)
        section_id = section.pk if section is not None else None
    appeal = choose_appeal(running_appeals(now) if appeals is None else appeals, section_id)
    if appeal is not None:
        variants = appeal.ordered_variants()
        if variants:
            index = variant_index(appeal.pk, story.pk or 0, utc_day(now), len(variants))
            return shown_from_variant(appeal, variants[index], index)
    return shown_from_settings(support)


def showing_now(sections, support, now=None):
    """For the dashboard: what a story in each section shows at `now` (the version depends on the story)."""
    now = now or timezone.now()
    appeals = running_appeals(now)
    rows = []
    for section in sections:
        appeal = choose_appeal(appeals, section.pk) if support.appeal_enabled else None
        if not support.appeal_enabled:
            what = "No appeal (switched off in Settings → Support)"
        elif appeal is None:
            what = "Evergreen appeal"
        else:
            what = f"{appeal.name} ({appeal.kind.lower()}, {len(appeal.ordered_variants())} version(s))"
        rows.append({"section": section, "appeal": appeal, "what": what})
    return rows
