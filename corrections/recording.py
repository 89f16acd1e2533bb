"""What a publication of a story changed, and who must hear of it (issue #21, steps 1 and 2).

    record_publication(story, revision, previous_revision_id=...) -> Change | None

When a story is published again, its new live revision is compared with the one live before it. A correction
was added (one in the new revision whose date and words are not in the old), or the substantive update note
was filled in or rewritten: that publication is one `Change`, with its words, the paragraphs of the body that
changed, both revisions and the story's next version (`StoryPage.version`, written with a queryset update so
that publishing is not set off again). A first publication changes nothing partners hold.

Then, in the `send_notices` job (`notify_pending`; not in the editor's publishing request, as a story with
many copies means a handout built per partner), every copy of the story (tracking's copies with an http(s)
address, and the `partner:<id>` copies a partner's feed pixel counted without one) gets a `Notice`, once per
change and copy, naming the partner that runs the copy, or nobody. Partners are told by email (one message to
all their contacts) and, when they have one, at their webhook: both through the outbox
(`corrections.outbox.enqueue`), whose idempotency keys make a second run add nothing. What the messages say is
in `corrections.notices`.

Everything here may run twice for the same publication (the signal sent again, a retry): the change is found
by its story and new revision, notices by change and copy, messages by their keys.
"""

import difflib
import logging

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.formats import date_format
from wagtail.models import PageLogEntry, Revision

from partners.models import Partner
from republish.handout import body_html, correction_text, site_base_url
from republish.text import html_to_text
from stories.models import StoryPage
from tracking.api import Copy

from . import notices
from .models import Change, Message, Notice
from .outbox import enqueue, idempotency_key

logger = logging.getLogger(__name__)

# The log entries of a publication, whose revision was the live one: used when the story was not live just
# before (unpublished, then published again), to compare with what partners last had.
PUBLISH_ACTIONS = ("wagtail.publish", "wagtail.publish.scheduled")
# Where corrections.signals notes, on the story being saved, what the database held before the save.
BEFORE_PUBLISH = "_corrections_before_publish"


# ---- What changed

def correction_keys(story):
    """(date, words) of each of the story's corrections, as the comparison of two revisions sees them."""
    return [(correction.date, " ".join((correction.text or "").split())) for correction in story.corrections.all()]


def added_corrections(old, new):
    """The corrections of `new` (a story, as one revision has it) that `old` did not have, in `new`'s order."""
    before = set(correction_keys(old))
    return [correction for correction, key in zip(new.corrections.all(), correction_keys(new), strict=True)
            if key not in before]


def update_note(old, new):
    """The substantive update note of `new` when it is filled in and differs from `old`'s, else ""."""
    note = " ".join((new.update_note or "").split())
    return note if note and note != " ".join((old.update_note or "").split()) else ""


def paragraphs(story, base_url):
    """The body as partners' copies have it (`republish.handout.body_html`: text blocks, no pictures), one
    plain-text string per paragraph, heading, list item or quote."""
    text = html_to_text(body_html(story, base_url))
    return [block for block in text.split("\n\n") if block]


def paragraph_diff(before, after):
    """The paragraphs that differ between two lists of them, aligned by difflib: changed ones paired in order,
    removed ones with "after" empty, added ones with "before" empty."""
    diff = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        old, new = before[i1:i2], after[j1:j2]
        for k in range(max(len(old), len(new))):
            diff.append({"before": old[k] if k < len(old) else "", "after": new[k] if k < len(new) else ""})
    return diff


def change_text(corrections, note, base_url):
    """The words of a change as plain text: each new correction after its date, then the update note."""
    lines = [f"{date_format(c.date)}: {correction_text(c.text, base_url)}" for c in corrections]
    if note:
        lines.append(f"Update: {note}" if lines else note)
    return "\n".join(lines)


def previous_live_revision_id(story, revision):
    """The revision that was live before `revision` was published: the story's own record of it where the
    signal's save left one (corrections.signals), else the last publication logged before this one."""
    before = getattr(story, BEFORE_PUBLISH, None)
    if before is not None and before.get("live_revision_id"):
        return before["live_revision_id"]
    entries = PageLogEntry.objects.filter(page_id=story.pk, action__in=PUBLISH_ACTIONS, revision__isnull=False)
    this = entries.filter(revision_id=revision.pk).order_by("timestamp", "pk").first()
    if this is not None:  # logged already (the signal sent again later): only what was published before it
        entries = entries.filter(pk__lt=this.pk)
    entry = entries.exclude(revision_id=revision.pk).order_by("-timestamp", "-pk").first()
    return entry.revision_id if entry else None


def record_change(story, revision, previous_revision_id=None):
    """The `Change` this publication of `story` (its live `revision`) made, or None when it made none: a first
    publication, or no new correction and no new update note. Found, not made again, when recorded before."""
    found = Change.objects.filter(story_id=story.pk, after_revision_id=revision.pk).first()
    if found is not None or not previous_revision_id or previous_revision_id == revision.pk:
        return found
    previous = Revision.objects.filter(pk=previous_revision_id).first()
    if previous is None:
        return None
    old, new = previous.as_object(), revision.as_object()
    corrections, note = added_corrections(old, new), update_note(old, new)
    if not corrections and not note:
        return None
    base_url = site_base_url(story)
    with transaction.atomic():
        # One publication at a time per story: the version is read and written under the row's lock.
        current = (StoryPage.objects.select_for_update().filter(pk=story.pk)
                   .values_list("version", flat=True).first()) or 1
        found = Change.objects.filter(story_id=story.pk, after_revision_id=revision.pk).first()
        if found is not None:
            return found
        last = Change.objects.filter(story_id=story.pk).aggregate(last=Max("version"))["last"] or 1
        version = max(current, last) + 1
        change = Change.objects.create(
            story_id=story.pk,
            kind=Change.CORRECTION if corrections else Change.UPDATE,
            text=change_text(corrections, note, base_url),
            diff=paragraph_diff(paragraphs(old, base_url), paragraphs(new, base_url)),
            version=version,
            before_revision_id=previous.pk,
            after_revision_id=revision.pk,
        )
        StoryPage.objects.filter(pk=story.pk).update(version=version)
    story.version = version
    return change


# ---- Who must hear of it

def copies_of(story_id):
    """The story's copies on other sites: those with an http(s) address and those a partner's feed pixel
    counted without one (`partner:<id>`); never our own site or the unknown page."""
    elsewhere = Q(url__startswith="http://") | Q(url__startswith="https://") | Q(url__startswith=Copy.PARTNER_PAGE)
    return list(Copy.objects.filter(elsewhere, story_id=story_id).order_by("pk"))


def copy_address(copy):
    """The copy's page address; "" for a `partner:<id>` copy, whose address we do not know."""
    return "" if copy.url.startswith(Copy.PARTNER_PAGE) else copy.address


def contacts_of(partner):
    emails = []
    for contact in partner.contacts.all():
        email = contact.email.strip()
        if email and email.lower() not in {known.lower() for known in emails}:
            emails.append(email)
    return emails


def notify(change):
    """A Notice for every copy of the changed story, and the messages for those a partner runs. Returns the
    notices (also those made before)."""
    story = StoryPage.objects.select_related("origin").get(pk=change.story_id)
    made, content, owner = [], notices.Content(story, change), Partner.objects.owners()
    for copy in copies_of(story.pk):
        address = copy_address(copy)
        with transaction.atomic():
            notice, _ = Notice.objects.get_or_create(
                change=change, copy_id=copy.pk,
                defaults={"copy_url": (address or copy.url)[:500], "partner": owner(copy.url, copy.host)},
            )
            if notice.partner_id is not None:
                tell(notice, notice.partner, content, address)
        made.append(notice)
    return made


def tell(notice, partner, content, address):
    """The partner's email (all its contacts in one message) and webhook post of `notice`, queued once: what
    was queued before is neither built nor queued again."""
    emails = contacts_of(partner)
    if emails:
        recipient = ", ".join(emails)[:500]
        if not queued(notice, Message.EMAIL, recipient):
            enqueue(notice, Message.EMAIL, recipient, content.subject()[:300], content.email_body(partner, address))
    if partner.webhook_url:
        key = idempotency_key(notice, Message.WEBHOOK, partner.webhook_url, Message.NOTICE)
        if not queued(notice, Message.WEBHOOK, partner.webhook_url):
            enqueue(notice, Message.WEBHOOK, partner.webhook_url, "", content.webhook_body(partner, address, key))


def queued(notice, channel, recipient):
    key = idempotency_key(notice, channel, recipient, Message.NOTICE)
    return Message.objects.filter(idempotency_key=key).exists()


def notify_pending(limit=100):
    """Step 2 for the changes whose copies have not been told yet, oldest first: what the `send_notices` job
    does before it sends. A change whose notices fail stays pending for the next run; the others go on.
    Returns how many changes were done."""
    done = 0
    for change in Change.objects.filter(notified_at__isnull=True).order_by("pk")[:limit]:
        try:
            notify(change)
        except Exception:  # notify() adds only what is missing when run again
            logger.exception("Corrections: the copies of story %s could not be told of change %s",
                             change.story_id, change.pk)
            continue
        Change.objects.filter(pk=change.pk).update(notified_at=timezone.now())
        done += 1
    return done


def record_publication(story, revision, previous_revision_id=None):
    """Steps 1 and 2 for one publication at once (commands, tests): the change, if any, and its notices.
    Returns the change or None."""
    if previous_revision_id is None:
        previous_revision_id = previous_live_revision_id(story, revision)
    change = record_change(story, revision, previous_revision_id)
    if change is not None:
        notify(change)
        Change.objects.filter(pk=change.pk).update(notified_at=timezone.now())
    return change
