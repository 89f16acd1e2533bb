"""Sending the outbox's messages: one pass claims what is due and sends it, one message at a time.

    send_due(limit=100, budget=None, now=None) -> Pass     what the `send_notices` job runs
    send(message) -> None, or raises Undelivered            one message, email or webhook

Email goes through Django's email backend, to the comma-separated addresses in `recipient`, with a Message-ID
made from the idempotency key (a mail system that sees the same message twice may drop the second).

A webhook is a POST of `body`, byte for byte as stored, to the URL in `recipient`, through the one safe fetcher
(byline/fetch.py: public addresses only unless FETCH_ALLOW_HOSTS, the vetted address pinned, a deadline, a size
cap, no redirect followed), with

    Content-Type: application/json
    Idempotency-Key: <message.idempotency_key>          the same at every try
    Byline-Signature: sha256=<hex HMAC-SHA256 of the body's bytes under the partner's webhook_secret>

A 2xx answer is delivered; any other answer, or no answer, is a failure, tried again later (corrections.outbox).
"""

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.utils import DNS_NAME

from byline.fetch import Fetcher, FetchError, HostLimiter

from . import outbox
from .models import Message

logger = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 15.0  # seconds for the whole POST: connecting, sending, the answer (NOTICE_WEBHOOK_TIMEOUT)
WEBHOOK_MAX_BYTES = 256 * 1024  # of a receiver's answer, which we do not need
HOST_INTERVAL = 0.2  # seconds between two posts to one host (NOTICE_HOST_INTERVAL)
SIGNATURE_HEADER = "Byline-Signature"


class Undelivered(Exception):
    """Why a message was not delivered: short, and never carrying the partner's secret."""


def sign(secret, body):
    """`sha256=<hex>`: the HMAC-SHA256 of the body's bytes under the partner's webhook secret."""
    body = body.encode("utf-8") if isinstance(body, str) else body
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def user_agent():
    site = getattr(settings, "WAGTAILADMIN_BASE_URL", "").rstrip("/")
    return f"Byline-Notices/1.0 (+{site}; corrections to stories you republished)"


def webhook_fetcher(limiter=None):
    return Fetcher(
        total_timeout=float(getattr(settings, "NOTICE_WEBHOOK_TIMEOUT", WEBHOOK_TIMEOUT)),
        max_bytes=WEBHOOK_MAX_BYTES, max_redirects=0, user_agent=user_agent(),
        accept="application/json, */*;q=0.1",
        limiter=limiter or HostLimiter(interval=float(getattr(settings, "NOTICE_HOST_INTERVAL", HOST_INTERVAL))),
    )


def _clean(text, *secrets):
    """`text` on one line, short, with every secret blanked out."""
    text = str(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[secret]")
    return " ".join(text.split())[:outbox.ERROR_LENGTH]


def send_email(message):
    recipients = [address.strip() for address in message.recipient.split(",") if address.strip()]
    if not recipients:
        raise Undelivered("no recipient address")
    email = EmailMessage(message.subject, message.body, from_email=settings.DEFAULT_FROM_EMAIL, to=recipients,
                         headers={"Message-ID": f"<{message.idempotency_key}@{DNS_NAME}>"})
    try:
        email.send(fail_silently=False)
    except Exception as error:  # SMTP refusals, connection errors, a backend's own: all "not delivered"
        raise Undelivered(_clean(f"email: {type(error).__name__}: {error}")) from error


def send_webhook(message, fetcher=None):
    partner = message.notice.partner
    secret = partner.webhook_secret if partner is not None else ""
    if not secret:
        raise Undelivered("webhook: the partner has no webhook secret to sign with" if partner is not None
                          else "webhook: the notice has no partner (any more)")
    body = message.body.encode("utf-8")
    signature = sign(secret, body)
    headers = {"Content-Type": "application/json", "Idempotency-Key": message.idempotency_key,
               SIGNATURE_HEADER: signature}
    try:
        answer = (fetcher or webhook_fetcher()).post(message.recipient, body, headers)
    except FetchError as error:
        raise Undelivered(_clean(f"webhook: {error.kind}: {error.message}", secret, signature)) from error
    if not 200 <= answer.status < 300:
        said = _clean(answer.body.decode("utf-8", "replace"), secret, signature)[:120]  # blanked, then cut
        raise Undelivered(f"webhook: HTTP {answer.status}" + (f": {said}" if said else ""))


def send(message, fetcher=None):
    """Send one message once; raises Undelivered if it was not delivered."""
    if message.channel == Message.EMAIL:
        send_email(message)
    elif message.channel == Message.WEBHOOK:
        send_webhook(message, fetcher)
    else:
        raise Undelivered(f"unknown channel {message.channel!r}")


@dataclass
class Pass:
    """What one pass did: the ids of the messages sent, to be retried, given up, and those whose outcome we
    could not record (our lease had run out and another claimer had the row); a line per message in `log`."""

    sent: list = field(default_factory=list)
    retrying: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    lost: list = field(default_factory=list)
    log: list = field(default_factory=list)

    @property
    def claimed(self):
        return len(self.sent) + len(self.retrying) + len(self.failed) + len(self.lost)

    def record(self, message, outcome, attempt, error=""):
        getattr(self, outcome).append(message.pk)
        when = ""
        if outcome == "retrying":
            when = f", next try {message.next_attempt_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        self.log.append(f"message {message.pk} ({message.channel}, attempt {attempt}): {outcome}{when}"
                        + (f": {error}" if error else ""))

    def __str__(self):
        return (f"Sent {len(self.sent)}, to retry {len(self.retrying)}, given up {len(self.failed)}"
                + (f", outcome not recorded {len(self.lost)}" if self.lost else "") + ".")


def send_due(limit=100, budget=None, now=None, fetcher=None):
    """Claim and send due messages one at a time (each claimed just before it is sent, so no lease runs out
    while it waits its turn), up to `limit` messages and, when `budget` (seconds) is given, no new claim after
    that long. `now` fixes the clock (tests)."""
    started = time.monotonic()
    fetcher = fetcher or webhook_fetcher()
    done = Pass()
    while done.claimed < limit and (budget is None or time.monotonic() - started < budget):
        claimed = outbox.claim(limit=1, now=now)
        if not claimed:
            break
        message = claimed[0]
        attempt = message.attempts + 1
        try:
            send(message, fetcher)
        except Exception as error:
            if isinstance(error, Undelivered):
                reason = str(error)
                logger.warning("Message %s (%s, notice %s) not delivered: %s", message.pk, message.channel,
                               message.notice_id, reason)
            else:  # a bug, not the receiver: recorded like a failure, so that one message cannot stop the outbox
                secret = getattr(message.notice.partner, "webhook_secret", "")
                reason = _clean(f"{message.channel}: unexpected {type(error).__name__}: {error}", secret)
                logger.exception("Message %s (%s, notice %s): unexpected error while sending", message.pk,
                                 message.channel, message.notice_id)
            if not outbox.mark_failed(message, reason, now=now):
                done.record(message, "lost", attempt, reason)
            else:
                outcome = "failed" if message.status == Message.FAILED else "retrying"
                done.record(message, outcome, attempt, reason)
        else:
            outbox.mark_sent(message, now=now)
            done.record(message, "sent", attempt)
    return done
