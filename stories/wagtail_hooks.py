"""The story lists a story page ends with, "Most Popular" and "In Case You Missed It" (stories.lists), added to
its context through the hook every feature uses (StoryPage.get_context)."""

from wagtail import hooks

from .lists import story_page_lists
from .models import NewsroomSettings


@hooks.register("story_page_context")
def add_story_lists(story, request, context, sections):
    context["most_popular"], context["missed"] = story_page_lists(
        story, NewsroomSettings.for_request(request), sections)
