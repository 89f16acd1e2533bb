"""The story lists that frame a page: latest, Most Popular, In Case You Missed It."""

import time
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from wagtail import hooks

from .models import latest_stories, listed_stories, with_sections

# How long a worker keeps the stories every story page's lists are drawn from (see `list_pool`). Any change
# to pages, restrictions or the newsroom's lists replaces them at once; this bounds only how far behind
# "Most Popular" may run, which tracking.reports already ranks once a minute.
LIST_POOL_SECONDS = 30
LIST_POOL_TOKEN = "stories:list-pool"
RECENT_POOL_SIZE = 17  # the 16 candidates a story page draws from, plus the page's own story
RANKED_LENGTH = 4  # stories in Most Popular


def most_popular(newsroom, exclude=None, limit=RANKED_LENGTH, candidates=None, sections=None, ranked=None):
    """"Most Popular": stories ranked by readers over the newsroom's window (see tracking.reports), topped
    up with the most recent stories while too few have been read. `ranked`: that ranking, already fetched."""
    if ranked is None:
        ranked = with_sections(
            ranked_by_readers(newsroom.popular_window_hours, newsroom.popular_counts_copies, limit, exclude=exclude),
            sections,
        )
    else:
        ranked = [story for story in ranked if exclude is None or story.pk != exclude.pk][:limit]
    if len(ranked) >= limit:
        return ranked
    taken = {story.pk for story in ranked}
    recent = candidates if candidates is not None else latest_stories(limit=limit * 2, exclude=exclude)
    recent = [story for story in recent if story.pk not in taken and (exclude is None or story.pk != exclude.pk)]
    return ranked + recent[: limit - len(ranked)]


def pinned_stories(newsroom, sections=None):
    """The published stories editors pinned into In Case You Missed It, in their order."""
    pins = list(newsroom.missed_pins.values_list("story", flat=True)) if newsroom is not None and newsroom.pk else []
    if not pins:
        return []
    return with_sections(sorted(listed_stories().filter(pk__in=pins), key=lambda s: pins.index(s.pk)), sections)


def missed_stories(story, newsroom=None, limit=4, exclude=(), candidates=None, sections=None, pinned=None):
    """Stories from other sections than `story`'s, each shown with its section name: first those editors
    pinned, then the most recent, leaving out this story and those listed elsewhere on the page (`exclude`).
    `pinned`: `pinned_stories(newsroom)`, already fetched."""
    section_path = story.path[: -story.steplen]
    excluded = {s.pk for s in exclude} | {story.pk}
    if pinned is None:
        pinned = pinned_stories(newsroom, sections)
    found = [s for s in pinned if s.pk not in excluded][:limit]
    excluded |= {s.pk for s in found}
    if candidates is not None:
        found += [c for c in candidates if c.pk not in excluded and not c.path.startswith(section_path)]
        if len(found) >= limit:
            return found[:limit]
        excluded |= {s.pk for s in found}
    qs = listed_stories().exclude(path__startswith=section_path).exclude(pk__in=excluded)
    return found + with_sections(qs[: limit - len(found)], sections)


@dataclass(frozen=True)
class ListPool:
    """What every story page's lists are drawn from, before each page leaves out its own story."""

    token: str
    expires: float
    recent: list  # the latest published stories
    ranked: list  # ranked by readers (tracking.reports)
    pinned: list  # pinned by editors


_pools = {}  # this worker's pools, one per newsroom and ranking


def forget_list_pools():
    """Make every worker fetch its pool again (stories.signals calls it when pages or the lists change)."""
    cache.delete(LIST_POOL_TOKEN)


def list_pool(newsroom, sections=None):
    """The same few stories frame every story page. Each worker keeps them for `LIST_POOL_SECONDS`, as long
    as the token in the shared cache stays the one it saw when fetching them, so a run of uncached renders
    (after a purge, or for editors) does not fetch them again for every page."""
    key = (newsroom.pk, newsroom.popular_window_hours, newsroom.popular_counts_copies)
    # Read before fetching: a change made meanwhile leaves this pool with an outdated token.
    token = cache.get_or_set(LIST_POOL_TOKEN, lambda: uuid.uuid4().hex, None)
    pool = _pools.get(key)
    if pool is None or pool.token != token or pool.expires < time.monotonic():
        pool = _pools[key] = ListPool(
            token=token,
            expires=time.monotonic() + LIST_POOL_SECONDS,
            recent=with_sections(listed_stories()[:RECENT_POOL_SIZE], sections),
            ranked=with_sections(
                ranked_by_readers(newsroom.popular_window_hours, newsroom.popular_counts_copies, RANKED_LENGTH),
                sections,
            ),
            pinned=pinned_stories(newsroom, sections),
        )
    return pool


def story_page_lists(story, newsroom, sections=None):
    """Most Popular and In Case You Missed It for one story page, drawn from the worker's `list_pool`."""
    pool = list_pool(newsroom, sections)
    candidates = [s for s in pool.recent if s.pk != story.pk][: RECENT_POOL_SIZE - 1]
    popular = most_popular(newsroom, exclude=story, candidates=candidates, ranked=pool.ranked)
    return popular, missed_stories(story, newsroom, exclude=popular, candidates=candidates, sections=sections,
                                   pinned=pool.pinned)


def ranked_by_readers(hours, counts_copies, limit, exclude=None):
    """The stories most read over the last `hours`, as the app that counts readers ranks them (tracking
    registers its ranking as the `rank_most_popular` hook); none where no app does."""
    for rank in hooks.get_hooks("rank_most_popular"):
        return rank(hours, counts_copies, limit, exclude=exclude)
    return []
