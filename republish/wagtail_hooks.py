"""What republishing adds to a story's page: whether it may travel now (stories.models.StoryPage.get_context).

The footer and the appeal read it so that they never promise what the republish box refuses
(appeals.wording)."""

from wagtail import hooks

from .eligibility import is_republishable
from .models import RepublishingPolicy


@hooks.register("story_page_context")
def add_may_republish(story, request, context, sections):
    context["may_republish"] = bool(is_republishable(story, RepublishingPolicy.for_request(request)))
