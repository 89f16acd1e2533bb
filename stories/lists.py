"""The story lists that frame a page: latest, Most Popular, In Case You Missed It."""

from .models import SectionPage, StoryPage


def sections_by_path():
    """Every section, keyed by tree path. Sections are few and every page needs some of them."""
    return {section.path: section for section in SectionPage.objects.all().order_by("path")}


def with_sections(stories, sections=None):
    """Attach each story's section without a query per story."""
    stories = list(stories)
    if not stories:
        return stories
    sections = sections if sections is not None else sections_by_path()
    for story in stories:
        section = sections.get(story.path[: -StoryPage.steplen])
        if section is not None:
            story.__dict__["section"] = section
    return stories


def published_stories():
    return StoryPage.objects.live().public().order_by("-first_published_at", "-pk")


def latest_stories(limit=10, exclude=None):
    qs = published_stories().select_related("lead_image")
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return with_sections(qs[:limit])


def most_popular(newsroom, exclude=None, limit=4, candidates=None, sections=None):
    """"Most Popular": stories ranked by readers over the newsroom's window (see tracking.reports), topped
    up with the most recent stories while too few have been read."""
    from tracking.reports import most_popular as ranked_by_readers

    ranked = with_sections(
        ranked_by_readers(newsroom.popular_window_hours, newsroom.popular_counts_copies, limit, exclude=exclude),
        sections,
    )
    if len(ranked) >= limit:
        return ranked
    taken = {story.pk for story in ranked}
    recent = candidates if candidates is not None else latest_stories(limit=limit * 2, exclude=exclude)
    recent = [story for story in recent if story.pk not in taken and (exclude is None or story.pk != exclude.pk)]
    return ranked + recent[: limit - len(ranked)]


def missed_stories(story, newsroom=None, limit=4, exclude=(), candidates=None):
    """Stories from other sections than `story`'s, each shown with its section name: first those editors
    pinned, then the most recent, leaving out this story and those listed elsewhere on the page (`exclude`)."""
    section_path = story.path[: -StoryPage.steplen]
    excluded = {s.pk for s in exclude} | {story.pk}
    found = []
    pins = list(newsroom.missed_pins.values_list("story", flat=True)) if newsroom is not None and newsroom.pk else []
    if pins:
        pinned = StoryPage.objects.live().public().filter(pk__in=pins).exclude(pk__in=excluded)
        found = with_sections(sorted(pinned, key=lambda s: pins.index(s.pk)))[:limit]
        excluded |= {s.pk for s in found}
    if candidates is not None:
        found += [c for c in candidates if c.pk not in excluded and not c.path.startswith(section_path)]
        if len(found) >= limit:
            return found[:limit]
        excluded |= {s.pk for s in found}
    qs = published_stories().exclude(path__startswith=section_path).exclude(pk__in=excluded)
    return found + with_sections(qs[: limit - len(found)])


def story_page_lists(story, newsroom, sections=None):
    """Most Popular and In Case You Missed It for one story page, from few queries in the common case."""
    candidates = with_sections(published_stories().exclude(pk=story.pk)[:16], sections)
    popular = most_popular(newsroom, exclude=story, candidates=candidates, sections=sections)
    return popular, missed_stories(story, newsroom, exclude=popular, candidates=candidates)
