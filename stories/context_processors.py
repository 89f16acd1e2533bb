from django.utils.functional import SimpleLazyObject

from .models import sections_for_request


def newsroom(request):
    """The sections every public page shows in its navigation, fetched once per request and shared
    with routing and the story lists (see `sections_for_request`)."""

    def nav_sections():
        sections = sections_for_request(request)
        return [s for s in sections.values() if s.live and s.show_in_menus]

    return {"nav_sections": SimpleLazyObject(nav_sections)}
