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


def most_popular(exclude=None, limit=4, candidates=None):
    """Ranked stories for the "Most Popular" box: the most recent ones until reader counts rank them."""
    if candidates is None:
        return latest_stories(limit=limit, exclude=exclude)
    return [story for story in candidates if exclude is None or story.pk != exclude.pk][:limit]


def missed_stories(story, limit=4, exclude=(), candidates=None):
    """Recent stories from other sections than `story`'s, each shown with its section name,
    leaving out those already listed elsewhere on the page (`exclude`)."""
    section_path = story.path[: -StoryPage.steplen]
    excluded = {s.pk for s in exclude} | {story.pk}
    if candidates is not None:
        found = [c for c in candidates if c.pk not in excluded and not c.path.startswith(section_path)][:limit]
        if len(found) == limit:
            return found
    qs = published_stories().exclude(path__startswith=section_path).exclude(pk__in=excluded)
    return with_sections(qs[:limit])


def story_page_lists(story, sections=None):
    """Most Popular and In Case You Missed It for one story page, from one query in the common case."""
    candidates = with_sections(published_stories().exclude(pk=story.pk)[:16], sections)
    popular = most_popular(exclude=story, candidates=candidates)
    return popular, missed_stories(story, exclude=popular, candidates=candidates)
