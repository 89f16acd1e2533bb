"""Factories for what the pixel records and what counting makes of it: hits (as the pixel's writers store them,
and as rows), the copies of a story readers were seen on, and hourly rollups. For the tests, and for any demo or
script (this is not a test module).

`hit(story, at)` is how a test says "a reader loaded this story's pixel at this time"; `hit_row(n)` is the
dict the pixel hands its writers (the journal, the group commit), for tests of the writers themselves.
"""

from datetime import UTC, datetime, timedelta

import factory
from django.db import transaction
from django.utils import timezone

from tracking.writers import write_hits

from .models import Copy, Hit, Rollup

# The partner's page `hit()` counts by default: a republished copy, not our own site (Copy.OUR_SITE).
PARTNER_COPY = "https://partner.example/2026/harbor-cleanup/"
# When every `hit_row()` is received unless told otherwise: microseconds included, as the pixel records them.
HIT_AT = datetime(2026, 12, 4, 17, 30, 5, 123456, tzinfo=UTC)


def hit_row(n=1, **fields):
    """The n-th hit of story id 7 as the pixel hands it to its writers: its own copy and visitor key per n,
    passed the filters, received at HIT_AT. `fields` replace any of its values."""
    return {"received_at": HIT_AT, "story_id": 7, "via": "html", "copy": f"https://partner.example/p/{n}",
            "visitor": f"{n:016x}", "filtered": "", **fields}


def hit(story, at, visitor="v1", copy=PARTNER_COPY, filtered="", via="html"):
    """A reader (`visitor`, the day's visitor key) loaded `story`'s pixel at `at` on the page `copy`
    (Copy.OUR_SITE: on our own site); `filtered` says why the hit was dropped (tracking.filters), "" if it
    passed; `story` None is a hit that named no story.

    Stored as the pixel's writers store it: a hit whose time the counting job has already counted is stored as
    of the job's cursor instead."""
    row = hit_row(received_at=at, story_id=story.pk if story else None, via=via, copy=copy, visitor=visitor,
                  filtered=filtered)
    with transaction.atomic():
        write_hits([row])


class HitFactory(factory.django.DjangoModelFactory):
    """A Hit row written straight to the table (no cursor rule, unlike `hit()`): of `story`, or of `story_id`,
    which may name a story that no longer exists."""

    class Meta:
        model = Hit

    class Params:
        story = None

    received_at = factory.LazyFunction(timezone.now)
    story_id = factory.LazyAttribute(lambda o: o.story.pk if o.story else None)
    via = "html"
    copy = PARTNER_COPY
    visitor = factory.Sequence(lambda n: f"{n:016x}")
    filtered = ""


class CopyFactory(factory.django.DjangoModelFactory):
    """A copy of `story` readers were seen on: a partner's page by default (Copy.OUR_SITE is our own site), first
    and last seen `seen_at` (now) unless `first_seen` or `last_seen` say otherwise. Its host follows its URL."""

    class Meta:
        model = Copy

    class Params:
        story = None
        seen_at = factory.LazyFunction(timezone.now)

    story_id = factory.LazyAttribute(lambda o: o.story.pk)
    url = factory.Sequence(lambda n: f"https://partner{n}.example/2026/harbor-cleanup/")
    first_seen = factory.SelfAttribute("seen_at")
    last_seen = factory.SelfAttribute("seen_at")


def last_hour():
    return timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


class RollupFactory(factory.django.DjangoModelFactory):
    """What counting made of one copy's hits in one UTC hour (the last full one by default): one reader, one
    view, one hit unless told otherwise."""

    class Meta:
        model = Rollup

    copy = factory.SubFactory(CopyFactory)
    story_id = factory.SelfAttribute("copy.story_id")
    own = factory.LazyAttribute(lambda o: o.copy.is_own)
    hour = factory.LazyFunction(last_hour)
    hits = factory.SelfAttribute("views")
    views = factory.SelfAttribute("readers")
    readers = 1
