"""The story lists that frame a page: latest, Most Popular, In Case You Missed It."""

from .models import SectionPage, StoryPage


def with_sections(stories):
    """Attach each story's section without a query per story: sections are few, stories share them."""
    stories = list(stories)
    if not stories:
        return stories
    steplen = StoryPage.steplen
    sections = {s.path: s for s in SectionPage.objects.filter(path__in={st.path[: -steplen] for st in stories})}
    for story in stories:
        section = sections.get(story.path[:-steplen])
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


def most_popular(exclude=None, limit=4):
    """Ranked stories for the "Most Popular" box: the most recent ones until reader counts rank them."""
    return latest_stories(limit=limit, exclude=exclude)


def missed_stories(story, limit=4, exclude=()):
    """Recent stories from other sections than `story`'s, each shown with its section name,
    leaving out those already listed elsewhere on the page (`exclude`)."""
    section_path = story.path[: -StoryPage.steplen]
    qs = published_stories().exclude(path__startswith=section_path).exclude(pk__in=[s.pk for s in exclude])
    return with_sections(qs[:limit])
