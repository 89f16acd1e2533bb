from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from stories.models import StoryPage

from .models import RepublishingPolicy
from .offer import republishing_offer


def _published_story(story_id):
    """Drafts, unpublished and private stories do not exist as far as partners can tell."""
    return get_object_or_404(StoryPage.objects.live().public().select_related("origin"), pk=story_id)


def _cacheable(response):
    patch_cache_control(response, public=True, max_age=300)
    return response


@require_safe
def republish_page(request, story_id):
    """The no-JavaScript version of the dialog: its own page, canonical to the story and kept out of search."""
    story = _published_story(story_id)
    offer = republishing_offer(story, RepublishingPolicy.for_request(request), request)
    return _cacheable(render(request, "republish/republish_page.html", {"story": story, "offer": offer}))


@require_safe
def republish_json(request, story_id):
    story = _published_story(story_id)
    offer = republishing_offer(story, RepublishingPolicy.for_request(request), request)
    response = JsonResponse(offer.as_json())
    response["Access-Control-Allow-Origin"] = "*"
    return _cacheable(response)
