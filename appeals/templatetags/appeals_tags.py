"""`{% support_appeal page %}`: the appeal closing a story page (see `appeals.selection` for which one), and
`{% free_to_read_line support %}`: the footer's line. On a story others may not republish (the page's context
says `may_republish` is False) both are shown without what they say about republishing (`appeals.wording`)."""

import dataclasses

from django import template
from django.urls import NoReverseMatch, reverse

from appeals import selection
from appeals.models import SupportSettings
from appeals.wording import without_republishing, without_republishing_html

register = template.Library()


def counting_urls(shown, story_id):
    """The button's click address and the view beacon's, or ("", "") before `appeals.urls` is mounted."""
    try:
        return (reverse("appeals:click", args=[shown.variant_id, story_id]),
                reverse("appeals:seen", args=[shown.variant_id, story_id]))
    except NoReverseMatch:
        return "", ""


@register.inclusion_tag("appeals/appeal.html", takes_context=True)
def support_appeal(context, page):
    request = context.get("request")
    if request is None:
        return {"appeal": None}
    shown = selection.appeal_for_story(page, SupportSettings.for_request(request), now=selection.now())
    if shown is not None and republishing_withheld(context):
        default_heading = SupportSettings._meta.get_field("appeal_heading").default
        shown = dataclasses.replace(
            shown, heading=without_republishing(shown.heading) or default_heading,
            message=without_republishing_html(shown.message),
        )
    click_url = seen_url = ""
    # Views are counted only where a click can follow; previews (of a draft story, or in the admin) count nothing.
    if shown is not None and shown.button_url and not getattr(request, "is_preview", False):
        click_url, seen_url = counting_urls(shown, page.pk or 0)
    return {"appeal": shown, "click_url": click_url, "seen_url": seen_url}


@register.simple_tag(takes_context=True)
def free_to_read_line(context, support):
    """The footer's free-to-read line as this page may say it; "" when nothing of it holds here."""
    line = support.free_to_read_line
    return without_republishing(line) if republishing_withheld(context) else line


def republishing_withheld(context):
    return context.get("may_republish") is False
