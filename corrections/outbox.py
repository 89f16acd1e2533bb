"""The durable outbox: a row per message (corrections.models.Message), sent by the job runner.

    enqueue(notice, channel, recipient, subject, body, purpose=NOTICE) -> Message
    claim(limit=1, now=None) -> [Message]          due rows, now ours to send ("sending", leased)
    mark_sent(message) / mark_failed(message, error)   what became of a claimed row

A row's life: pending -> sending (claimed, leased until `lease_until`) -> sent; or, when sending failed, back to
pending with `attempts` + 1 and `next_attempt_at` pushed back (BACKOFF), until a day after it was created
(NOTICE_RETRY_HOURS): then failed, never tried again. A row left "sending" by a process killed mid-send is
due again once its lease has expired, and is sent again with the same idempotency key (docs/corrections.md,
"Delivery": at-least-once delivery, exactly-once processing for receivers that honour the key).

Claiming is one compare-and-swap UPDATE per row (`... WHERE id = ? AND <still due>`): on SQLite an UPDATE takes
the database's write lock, on PostgreSQL a second UPDATE of the row waits for the first and re-checks the
WHERE clause against what it committed, so of two runners claiming one row at once exactly one updates it.
The lease's end is the claim's token: a later claim of the row has a later lease, so a claimer whose lease
ran out cannot overwrite what the next claimer recorded.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .models import Message

# Waits after the 1st, 2nd, 3rd, 4th failure; every later one waits the last.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1),
           timedelta(hours=2))
LEASE_SECONDS = 300  # far longer than one send may take (the webhook's total deadline, an SMTP conversation)
RETRY_HOURS = 24
ERROR_LENGTH = 300


def idempotency_key(notice, channel, recipient, purpose):
    """The same message asked for twice is one row: the key is derived from what it is, not random."""
    raw = f"{notice.change_id}:{notice.copy_id}:{channel}:{recipient}:{purpose}"
    return hashlib.sha256(raw.encode()).hexdigest()


def enqueue(notice, channel, recipient, subject, body, purpose=Message.NOTICE):
    message, _ = Message.objects.get_or_create(
        idempotency_key=idempotency_key(notice, channel, recipient, purpose),
        defaults={"notice": notice, "channel": channel, "recipient": recipient, "subject": subject, "body": body,
                  "purpose": purpose},
    )
    return message


def lease_seconds():
    """How long a claimed row is ours (NOTICE_LEASE_SECONDS): after that, another runner may send it again."""
    return float(getattr(settings, "NOTICE_LEASE_SECONDS", LEASE_SECONDS))


def retry_for():
    """How long after its creation a message is still tried (NOTICE_RETRY_HOURS)."""
    return timedelta(hours=float(getattr(settings, "NOTICE_RETRY_HOURS", RETRY_HOURS)))


def backoff(attempts):
    """The wait before the next try of a message that has now failed `attempts` times (1 or more)."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def due_filter(now):
    """Rows to send now: waiting and due, or left "sending" by a claimer whose lease has run out."""
    return (Q(status=Message.PENDING, next_attempt_at__lte=now)
            | Q(status=Message.SENDING, lease_until__lt=now))


def due(now=None):
    return Message.objects.filter(due_filter(now or timezone.now()))


def claim(limit=1, now=None):
    """Up to `limit` due messages, each now "sending" and leased to us for `lease_seconds()`: ours alone to
    send until the lease ends. The oldest due first."""
    now = now or timezone.now()
    lease_until = now + timedelta(seconds=lease_seconds())
    # A row left "sending" after its retry period (its sender died each time it tried): given up, as a row
    # that kept failing is, rather than claimed again forever.
    Message.objects.filter(status=Message.SENDING, lease_until__lt=now, created_at__lt=now - retry_for()).update(
        status=Message.FAILED, lease_until=None,
        last_error="The sending process stopped while sending it, until the retry period ran out.")
    candidates = list(due(now).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[: limit * 2 + 5])
    claimed = []
    for pk in candidates:
        # The compare-and-swap: it updates the row only if it is still due, i.e. nobody claimed it meanwhile.
        if Message.objects.filter(due_filter(now), pk=pk).update(status=Message.SENDING, lease_until=lease_until):
            claimed.append(pk)
            if len(claimed) >= limit:
                break
    return list(Message.objects.filter(pk__in=claimed).select_related("notice__partner").order_by(
        "next_attempt_at", "pk"))


def _ours(message):
    """Our claim of `message` (loaded by `claim`): still "sending" with the lease we were given."""
    return Message.objects.filter(pk=message.pk, status=Message.SENDING, lease_until=message.lease_until)


def mark_sent(message, now=None):
    """Delivered: sent, never to be sent again. Also when our lease had run out and another claimer took the
    row meanwhile (it may send it once more, with the same key): the receiver did answer us."""
    now = now or timezone.now()
    updated = Message.objects.filter(pk=message.pk).exclude(status=Message.SENT).update(
        status=Message.SENT, sent_at=now, lease_until=None, last_error="")
    if updated:
        message.status, message.sent_at, message.lease_until, message.last_error = Message.SENT, now, None, ""
    return bool(updated)


def mark_failed(message, error, now=None):
    """Not delivered: tried again after the backoff, or given up (failed) a day after the message was made.
    The last try is at that deadline. Nothing happens when the row is no longer ours (our lease ran out and
    another claimer has it): that claimer records its own outcome. True if the row was updated."""
    now = now or timezone.now()
    attempts = message.attempts + 1
    error = (error or "failed").replace("\n", " ").strip()[:ERROR_LENGTH]
    give_up_at = message.created_at + retry_for()
    if now >= give_up_at:
        changes = {"status": Message.FAILED, "next_attempt_at": now}
    else:
        changes = {"status": Message.PENDING, "next_attempt_at": min(now + backoff(attempts), give_up_at)}
    changes.update(attempts=attempts, last_error=error, lease_until=None)
    updated = _ours(message).update(**changes)
    if updated:
        for name, value in changes.items():
            setattr(message, name, value)
    return bool(updated)
