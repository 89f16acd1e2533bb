"""What editors read of a change: one row per copy, with who was told, how, and what became of it."""

from .models import Message


def change_rows(change):
    rows = []
    for notice in change.notices.select_related("partner").prefetch_related("messages").order_by("copy_url"):
        messages = [message for message in notice.messages.all() if message.purpose == Message.NOTICE]
        rows.append({
            "notice": notice,
            "partner": notice.partner,
            "told": [{"channel": message.get_channel_display(), "recipient": message.recipient,
                      "status": message.get_status_display(), "sent_at": message.sent_at,
                      "error": message.last_error} for message in messages],
            "reminded_at": notice.reminded_at,
        })
    return rows


def story_summary(story):
    """For the story's Republishing tab: each published change with its copies' outcomes counted."""
    summary = []
    for change in story.published_changes.prefetch_related("notices").order_by("-version"):
        outcomes = {}
        for notice in change.notices.all():
            label = notice.get_outcome_display()
            outcomes[label] = outcomes.get(label, 0) + 1
        nobody = sum(1 for notice in change.notices.all() if notice.partner_id is None)
        summary.append({"change": change, "outcomes": outcomes, "copies": change.notices.count(), "nobody": nobody})
    return summary
