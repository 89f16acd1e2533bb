"""Which stories may travel, decided from facts, always with a reason readers and editors can read."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.formats import date_format
from wagtail.models import PageViewRestriction

from stories.models import StoryPage


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reason: str
    rule: str  # which rule decided: published, origin, editor, section, embargo, window, allowed

    def __bool__(self):
        return self.eligible


def _date(moment):
    return date_format(timezone.localtime(moment))


def is_published(story):
    """Live and public: drafts, unpublished and private (restricted) stories never travel."""
    if not story.live or story.expired:
        return False
    steplen = story.steplen
    ancestor_paths = [story.path[:end] for end in range(steplen, len(story.path) + 1, steplen)]
    return not PageViewRestriction.objects.filter(page__path__in=ancestor_paths).exists()


def is_republishable(story, policy, now=None):
    now = now or timezone.now()
    if not is_published(story):
        return Eligibility(False, "This story is not published.", "published")
    if story.origin is not None and not story.origin.allows_republishing:
        return Eligibility(
            False, f"This story originated with {story.origin.label} and is not available for republishing.", "origin"
        )
    if story.republishing == StoryPage.REPUBLISH_OFF:
        note = story.republishing_note.strip() or "Our editors have withdrawn it."
        return Eligibility(False, f"This story is not available for republishing. {note}", "editor")
    forced_on = story.republishing == StoryPage.REPUBLISH_ON
    if not forced_on and not story.section.allow_republishing:
        return Eligibility(False, f"Stories in {story.section.title} are not available for republishing.", "section")
    if story.republish_from and now < story.republish_from:
        return Eligibility(False, f"This story may be republished from {_date(story.republish_from)}.", "embargo")
    window = story.republish_window_days if story.republish_window_days is not None else policy.window_days
    if not forced_on and window and story.published_at and now > story.published_at + timedelta(days=window):
        until = story.published_at + timedelta(days=window)
        return Eligibility(False, f"This story could be republished until {_date(until)}.", "window")
    license_name = policy.license_name
    reason = f"You may republish this story for free under {license_name}." if license_name else (
        "You may republish this story for free, following our guidelines."
    )
    return Eligibility(True, reason, "allowed")
