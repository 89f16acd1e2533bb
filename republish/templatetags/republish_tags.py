from django import template

from republish.models import RepublishingPolicy
from republish.offer import republishing_offer

register = template.Library()


@register.inclusion_tag("republish/box.html", takes_context=True)
def republish_box(context, story):
    """The "Republish This Story" box for the end of a story page."""
    request = context["request"]
    return {"story": story, "offer": republishing_offer(story, RepublishingPolicy.for_request(request), request)}
