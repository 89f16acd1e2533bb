"""What republishing adds to a story's page: whether it may travel now (stories.models.StoryPage.get_context).

The footer and the appeal read it so that they never promise what the republish box refuses
(appeals.wording)."""

from wagtail import hooks

from .models import RepublishingPolicy
from .offer import ELIGIBILITY, public_eligibility


@hooks.register("story_page_context")
def add_may_republish(story, request, context, sections):
    eligibility = public_eligibility(story, RepublishingPolicy.for_request(request))
    context["may_republish"] = bool(eligibility)
    context[ELIGIBILITY] = eligibility  # the box at the page's end says the same without asking again
