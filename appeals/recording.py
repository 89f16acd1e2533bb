"""Views and clicks of appeals, recorded the way pixel hits are (tracking/pixel.py), with the same parts, all
from tracking's public face (tracking/api.py):

    event_row()  -> the cookieless visitor key (`visitor_key` over `client_ip`, user agent and our host, with
                    the day's salt: the same key the story's pixel gives the same reader), the same filters in
                    the same order (`not_a_reader`: no user agent, prefetch, bot; then the rate cap), nothing
                    else stored;
    recorder     -> a `GroupCommitRecorder`: the request waits until its event is committed, concurrent
                    events share one transaction;
    AppealEvent  -> counted every minute by `appeals.counting` into per-version hourly counts.
"""

import logging

from django.conf import settings
from django.utils import timezone

from tracking import api as tracking

from .models import EVERGREEN, AppealEvent, AppealVariant, SupportSettings
from .shown import is_http_url

logger = logging.getLogger(__name__)

UNKNOWN_VERSION = "unknown-version"
REASONS = {**tracking.REASONS, UNKNOWN_VERSION: "Unknown or deleted appeal version"}


def write_events(rows):
    AppealEvent.objects.bulk_create([AppealEvent(**row) for row in rows])


recorder = tracking.GroupCommitRecorder(write_events)
rate_cap = tracking.RateCap(limit=settings.PIXEL_RATE_CAP)


MAX_ID = 2**63 - 1  # anything larger is no row of ours (and would overflow a bigint column)


def appeal_id_of(variant_id):
    """The appeal a version belongs to: 0 for the evergreen appeal, None for a version we do not know."""
    if variant_id == EVERGREEN:
        return EVERGREEN
    if variant_id > MAX_ID:
        return None
    return AppealVariant.objects.filter(pk=variant_id).values_list("appeal_id", flat=True).first()


def donation_target(request, variant_id):
    """(target URL, appeal id) for a version; the URL always comes from the database, never from the request.

    Version 0 is the evergreen appeal of Settings → Support. An unknown version (deleted since the page was
    cached) gives the evergreen appeal's address and appeal id None, so a reader who wants to give still can."""
    if variant_id != EVERGREEN and variant_id <= MAX_ID:
        variant = AppealVariant.objects.filter(pk=variant_id).only("button_url", "appeal_id").first()
        if variant is not None:
            return (variant.button_url if is_http_url(variant.button_url) else None), variant.appeal_id
    support = SupportSettings.for_request(request)
    url = support.button_url if is_http_url(support.button_url) else None
    return url, (EVERGREEN if variant_id == EVERGREEN else None)


def event_row(environ, kind, variant_id, appeal_id, story_id, now=None):
    """The AppealEvent row for one request: which version, whose visit, or why it does not count."""
    now = now or timezone.now()
    row = {"received_at": now, "kind": kind, "variant_id": variant_id, "appeal_id": appeal_id,
           "story_id": story_id, "visitor": "", "filtered": ""}
    user_agent = environ.get("HTTP_USER_AGENT", "")[:1000]
    row["visitor"] = tracking.visitor_key(tracking.client_ip(environ), user_agent, tracking.our_host(), now.date())
    row["filtered"] = (
        (UNKNOWN_VERSION if appeal_id is None else "")
        or tracking.not_a_reader(environ, user_agent)
        or (tracking.RATE_LIMIT if not rate_cap.allow(row["visitor"]) else "")
    )
    return row


def record(environ, kind, variant_id, appeal_id, story_id):
    """Record one event and wait for its commit; False if it could not be stored."""
    variant_id = variant_id if variant_id <= MAX_ID else -1
    story_id = story_id if story_id is not None and story_id <= MAX_ID else None
    try:
        row = event_row(environ, kind, variant_id, appeal_id, story_id)
    except Exception:  # whatever the input, the reader is answered; the event is counted as malformed
        logger.exception("Appeal %s could not be read", kind)
        row = {"received_at": timezone.now(), "kind": kind, "variant_id": variant_id, "appeal_id": appeal_id,
               "story_id": story_id, "visitor": "", "filtered": tracking.MALFORMED}
    return recorder.record(row)
