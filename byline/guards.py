"""Answers for inputs that Wagtail's own views would meet with a 500."""

from django.http import Http404, JsonResponse
from django.views.defaults import page_not_found

ADMIN_API = "/admin/api/main/"


class AdminAPIFindGuard:
    """Wagtail's admin API "find" view (`/admin/api/main/<endpoint>/find/?id=...`) hands `?id=` to the database
    unchecked: "abc" or a NUL raised a 500. A number is passed on; anything else gets the 400 the API gives for
    other bad queries. Every other request passes untouched, after one startswith."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(ADMIN_API) and request.path.endswith("/find/") and "id" in request.GET:
            if not request.GET["id"].isascii() or not request.GET["id"].isdigit() or len(request.GET["id"]) > 19:
                return JsonResponse({"message": "id must be a whole number"}, status=400)
        return self.get_response(request)


class NulPathGuard:
    """No address has a NUL in it, and PostgreSQL refuses one in any text it is asked to compare: Wagtail's
    admin views that look a path segment up (e.g. /admin/workflows/tasks/add/<app>/<model>/) answered %00 with
    a 500. Such a request is not found, before any view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return page_not_found(request, Http404(request.path))
        return self.get_response(request)
