from django import template

from republish import pixel
from republish.models import RepublishingPolicy
from republish.offer import ELIGIBILITY, republishing_offer

register = template.Library()


@register.inclusion_tag("republish/box.html", takes_context=True)
def republish_box(context, story):
    """The "Republish This Story" box for the end of a story page. Its dialog fetches the handout from
    `/republish/ID.json` when it opens: few readers open it, and building it costs as much again as the body."""
    request = context["request"]
    offer = republishing_offer(story, RepublishingPolicy.for_request(request), request, with_handout=False,
                               eligibility=context.get(ELIGIBILITY))
    return {"story": story, "offer": offer}


@register.simple_tag
def pixel_src(story, via="site"):
    """Our own pages count their readers through the same pixel as the copies (so cached pages count too)."""
    return pixel.pixel_path(story.pk, via)
