"""The two reader-facing addresses of appeals (mounted by `appeals.urls`):

    /appeals/click/<version>/<story>/     the appeal's button: records a click, then 302 to the donation page
                                          (POST: the same record for a click that opened a new tab, 204)
    /appeals/seen/<version>/<story>.gif   the appeal's lazy 1×1 beacon: records a view, answers the pixel's GIF

The redirect target is read from the database for the version (Settings → Support for version 0); nothing in
the request can choose it, so this is no open redirect. Both answers are `no-store`, so neither the page cache
nor the browser keeps them.
"""

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tracking.api import GIF, GIF_HEADERS_WITH_LENGTH

from . import recording
from .models import AppealEvent

NO_STORE = "no-store, no-cache, must-revalidate, max-age=0"


@csrf_exempt  # a counter, not a form: it changes nothing a reader or editor owns (sendBeacon cannot send a token)
@require_http_methods(["GET", "HEAD", "POST"])
def click(request, variant_id, story_id):
    target, appeal_id = recording.donation_target(request, variant_id)
    if target is None:
        raise Http404("This appeal has no donation address.")
    stored = True
    if request.method != "HEAD":
        stored = recording.record(request.META, AppealEvent.CLICK, variant_id, appeal_id, story_id)
    if request.method == "POST":
        response = HttpResponse(status=204 if stored else 503)
    else:
        # Even if the click could not be stored, the reader goes on to give: that matters more than the count.
        response = HttpResponseRedirect(target)
    response["Cache-Control"] = NO_STORE
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_http_methods(["GET", "HEAD"])
def seen(request, variant_id, story_id):
    if request.method == "GET":
        appeal_id = recording.appeal_id_of(variant_id)
        if not recording.record(request.META, AppealEvent.VIEW, variant_id, appeal_id, story_id):
            response = HttpResponse("Not counted: storage unavailable.\n", status=503, content_type="text/plain")
            response["Retry-After"] = "1"
            response["Cache-Control"] = "no-store"
            return response
    response = HttpResponse(GIF if request.method == "GET" else b"")
    for name, value in GIF_HEADERS_WITH_LENGTH:
        response[name] = value
    return response
