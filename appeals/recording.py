"""Views and clicks of appeals, recorded the way pixel hits are (tracking/endpoint.py), with the same parts:

    event_row()  -> the cookieless visitor key (`tracking.visitors.visitor_key` over `client_ip`, user agent and
                    our host, with the day's salt: the same key the story's pixel gives the same reader), the same
                    filters in the same order (no user agent, prefetch, bot, rate cap), nothing else stored;
    recorder     -> a `tracking.recorder.GroupCommitRecorder`: the request waits until its event is committed,
                    concurrent events share one transaction;
    AppealEvent  -> counted every minute by `appeals.counting` into per-version hourly counts.
"""

import logging

from django.conf import settings
from django.utils import timezone

from tracking import filters
from tracking.endpoint import our_host
from tracking.recorder import GroupCommitRecorder
from tracking.visitors import client_ip, visitor_key

from .models import EVERGREEN, AppealEvent, AppealVariant, SupportSettings
from .selection import is_http_url

logger = logging.getLogger(__name__)

UNKNOWN_VERSION = "unknown-version"
REASONS = {**filters.REASONS, UNKNOWN_VERSION: "Unknown or deleted appeal version"}


def write_events(rows):
    AppealEvent.objects.bulk_create([AppealEvent(**row) for row in rows])


recorder = GroupCommitRecorder(write_events)
rate_cap = filters.RateCap(limit=settings.PIXEL_RATE_CAP)


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
    row["visitor"] = visitor_key(client_ip(environ), user_agent, our_host(), now.date())
    if appeal_id is None:
        row["filtered"] = UNKNOWN_VERSION
    elif not user_agent.strip():
        row["filtered"] = filters.NO_USER_AGENT
    elif filters.is_prefetch(environ):
        row["filtered"] = filters.PREFETCH
    elif filters.is_bot(user_agent):
        row["filtered"] = filters.BOT
    elif not rate_cap.allow(row["visitor"]):
        row["filtered"] = filters.RATE_LIMIT
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
               "story_id": story_id, "visitor": "", "filtered": filters.MALFORMED}
    return recorder.record(row)
