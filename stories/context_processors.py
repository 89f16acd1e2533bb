from django.utils.functional import SimpleLazyObject

from .lists import sections_by_path


def newsroom(request):
    """The sections every public page shows in its navigation, fetched once per request and shared
    with the story lists (see `request.byline_sections`)."""

    def nav_sections():
        sections = getattr(request, "byline_sections", None) or sections_by_path()
        return [s for s in sections.values() if s.live and s.show_in_menus]

    return {"nav_sections": SimpleLazyObject(nav_sections)}
