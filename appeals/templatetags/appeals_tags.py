"""`{% support_appeal page %}`: the appeal closing a story page (see `appeals.selection` for which one)."""

from django import template
from django.urls import NoReverseMatch, reverse

from appeals import selection
from appeals.models import SupportSettings

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
    click_url = seen_url = ""
    # Views are counted only where a click can follow; previews (of a draft story, or in the admin) count nothing.
    if shown is not None and shown.button_url and not getattr(request, "is_preview", False):
        click_url, seen_url = counting_urls(shown, page.pk or 0)
    return {"appeal": shown, "click_url": click_url, "seen_url": seen_url}
