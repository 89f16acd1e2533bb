"""Whether each copy took a change: its page fetched again (through the safe fetcher) a day after the notice,
and on demand, and compared paragraph by paragraph with what changed.

    applied          every paragraph the change added is on the page and none it removed is left, or, for a
                     correction that changed no paragraph, its words are on the page
    not yet applied  a paragraph the change replaced or removed is still there (or the correction's words are
                     missing while the story is there): the partner is reminded once
    changed          the copy no longer holds the story's paragraphs as they were or are: edited otherwise
    gone             the page answers 404 or 410

A copy whose page cannot be fetched now (a timeout, a 500) keeps its outcome and is tried again later; one
known only as "a page of partner N" has no address to check.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from byline.fetch import Fetcher, FetchError
from verify.page import CopyPage, decode
from verify.text import norm

from .models import Message, Notice
from .outbox import enqueue

GONE_STATUSES = (404, 410)


def check_after():
    return timedelta(hours=getattr(settings, "CORRECTION_CHECK_AFTER_HOURS", 24))


def due_notices(now=None):
    """Notices whose copies should be looked at again: a day after the change (CORRECTION_CHECK_AFTER_HOURS),
    and again each day while they have not taken it."""
    now = now or timezone.now()
    waited = now - check_after()
    return (Notice.objects.filter(change__created_at__lte=waited,
                                  outcome__in=[Notice.UNCHECKED, Notice.NOT_APPLIED])
            .exclude(checked_at__gt=waited).select_related("change", "change__story", "partner")
            .order_by("checked_at", "pk"))


def _correction_words(change):
    """The words of each correction in the change, without the date it starts with ("2026-11-20: ...")."""
    return [norm(line.partition(": ")[2] or line) for line in change.text.splitlines() if line.strip()]


def outcome_of(change, page):
    """(outcome, note) for the `page` (a verify.page.CopyPage) of a copy, against `change`."""
    blocks = {norm(block.text) for block in page.blocks}
    text = page.text_key
    added = [norm(row["after"]) for row in change.diff if row["after"].strip()]
    removed = [norm(row["before"]) for row in change.diff if row["before"].strip() and
               norm(row["before"]) not in added]
    left = [paragraph for paragraph in removed if paragraph in blocks]
    present = [paragraph for paragraph in added if paragraph in blocks]
    if left:
        return Notice.NOT_APPLIED, f"{len(left)} of the {len(removed)} paragraphs the change replaced are still there."
    if added and len(present) == len(added):
        return Notice.APPLIED, "Every changed paragraph is as it is now."
    if not change.diff:
        words = _correction_words(change) if change.kind == change.CORRECTION else []
        if words and all(word in text for word in words):
            return Notice.APPLIED, "The correction is on the page."
        story_words = norm(change.story.title)
        if words and story_words in text:
            return Notice.NOT_APPLIED, "The story is there without the correction."
    return Notice.CHANGED, "The page holds neither the old paragraphs nor the new ones: it was edited otherwise."


def check(notice, fetcher=None, now=None):
    """Look at the notice's copy now; records and returns its outcome (None when it could not be looked at)."""
    now = now or timezone.now()
    if not notice.copy_url.startswith(("http://", "https://")):
        notice.outcome_note = "No address to check: the partner's readers' browsers sent none."
        notice.checked_at = now
        notice.save(update_fields=["outcome_note", "checked_at"])
        return None
    try:
        fetched = (fetcher or Fetcher()).get(notice.copy_url)
    except FetchError as error:
        notice.outcome_note = f"Could not be fetched: {error}"[:1000]
        notice.checked_at = now
        notice.save(update_fields=["outcome_note", "checked_at"])
        return None
    if fetched.status in GONE_STATUSES:
        outcome, note = Notice.GONE, f"The page answers {fetched.status}."
    elif fetched.status >= 400:
        notice.outcome_note = f"The page answered {fetched.status}; tried again later."
        notice.checked_at = now
        notice.save(update_fields=["outcome_note", "checked_at"])
        return None
    else:
        page = CopyPage(decode(fetched.body, fetched.charset), fetched.final_url, fetched.headers)
        outcome, note = outcome_of(notice.change, page)
    notice.outcome, notice.outcome_note, notice.checked_at = outcome, note, now
    notice.save(update_fields=["outcome", "outcome_note", "checked_at"])
    if outcome == Notice.NOT_APPLIED:
        remind(notice, now)
    return outcome


def remind(notice, now=None):
    """Remind the partner once (an email to its contacts) that its copy has not taken the change."""
    partner = notice.partner
    if partner is None or notice.reminded_at is not None:
        return None
    emails = ", ".join(contact.email for contact in partner.contacts.all())
    if not emails:
        return None
    change, story = notice.change, notice.change.story
    what = "correction" if change.kind == change.CORRECTION else "update"
    body = (f"Your copy of “{story.title}” at {notice.copy_url} does not show our {what} yet.\n\n"
            f"{change.text}\n\nThe story as it is now: {story.full_url}\n"
            "The handout in your feed carries the current version. Thank you for updating your copy.\n")
    message = enqueue(notice, Message.EMAIL, emails, f"Reminder: {what} to “{story.title}”", body,
                      purpose=Message.REMINDER)
    notice.reminded_at = now or timezone.now()
    notice.save(update_fields=["reminded_at"])
    return message


def check_due(now=None, limit=50, fetcher=None):
    """Check up to `limit` due notices; {outcome: count}."""
    done = {}
    fetcher = fetcher or Fetcher()
    for notice in due_notices(now)[:limit]:
        outcome = check(notice, fetcher, now)
        done[outcome] = done.get(outcome, 0) + 1
    return done
