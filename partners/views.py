"""A partner's keyed addresses: its Atom and ninjs feeds, its own page and that page's CSV (partners/feeds.py
does the work). No login: the key in the address is the credential, looked up in the database on every
request. An unknown, revoked, paused or ended key gets the same 404 whatever the cause.

None of these answers may be kept by a shared cache (the page cache stores only `public` answers) or sent
on as a Referer (the address holds the key), and none belongs in a search engine."""

import csv
import functools

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from . import feeds
from .models import Partner

NOT_FOUND = "Not found.\n"


def _private(response, no_store=False):
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    if no_store:
        patch_cache_control(response, private=True, no_store=True)
    else:
        patch_cache_control(response, private=True, no_cache=True)
    return response


def keyed(bucket, no_store=False):
    """The view gets the active partner whose key is in the address, within its rate limit in `bucket`."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, key):
            partner = Partner.objects.with_key(key)
            if partner is None:
                return _private(HttpResponse(NOT_FOUND, status=404, content_type="text/plain; charset=utf-8"), True)
            wait = feeds.throttle(partner, bucket)
            if wait:
                response = HttpResponse(f"Too many requests: try again in {wait} seconds.\n", status=429,
                                        content_type="text/plain; charset=utf-8")
                response["Retry-After"] = str(wait)
                return _private(response, True)
            return _private(view(request, partner), no_store)
        return require_safe(wrapper)
    return decorate


@keyed("feed")
def atom_feed(request, partner):
    feeds.record_fetch(partner)
    body = feeds.atom_feed(feeds.feed_data(request), partner)
    return HttpResponse(body, content_type="application/atom+xml; charset=utf-8")


@keyed("feed")
def ninjs_feed(request, partner):
    try:
        since = feeds.parse_since(request.GET.get("since"))
    except ValueError as error:
        return HttpResponse(f"{error}\n", status=400, content_type="text/plain; charset=utf-8")
    feeds.record_fetch(partner)
    body = feeds.ninjs_feed(feeds.feed_data(request), partner, since)
    return HttpResponse(body, content_type="application/json")


@keyed("page", no_store=True)
def partner_page(request, partner):
    page = feeds.partner_page(partner, request.GET)
    return render(request, "partners/partner_page.html", {**page, "csv_query": page["period"].query})


@keyed("page", no_store=True)
def partner_copies_csv(request, partner):
    page = feeds.partner_page(partner, request.GET)
    period = page["period"]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="copies-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"')
    response.write("\ufeff")  # so that spreadsheet programs read the titles as UTF-8
    writer = csv.writer(response)
    writer.writerow(feeds.CSV_HEADER)
    writer.writerows(feeds.copies_rows(page))
    return response
