"""What a partner is told of a change to a story it republished: the email and the webhook's JSON body.

    Content(story, change).subject()                          "Correction to “<title>”" or "Update to “<title>”"
    Content(story, change).email_body(partner, address)       plain text
    Content(story, change).webhook_body(partner, address, key)  JSON, exactly as signed and sent

Both carry the correction or update note, the paragraphs that changed (before and after), the copy's address,
the story's address and the updated handout, built with the partner's own pixel
(`republish.pixel.partner_via`) so that a copy pasted from it counts for the partner. `address` is "" for a
copy a partner's feed pixel counted without one (`partner:<id>`).

The webhook body is JSON with its keys sorted, compact separators and UTF-8 characters as themselves:
`webhook_body(...).encode("utf-8")` are the bytes the delivery signs and posts.

    {"change": {"date", "diff", "kind", "text"}, "copy": {"url"}, "event": "story.corrected" | "story.updated",
     "handout": {"head", "html", "text"}, "idempotency_key", "story": {"id", "uri", "url", "version"}}
"""

import json
from urllib.parse import urlsplit

from partners.feeds import iso, tag_uri
from partners.models import FeedEntry
from republish.handout import build_handout, site_base_url
from republish.models import RepublishingPolicy
from republish.pixel import partner_via
from stories.models import NewsroomSettings

from .models import Change

EVENTS = {Change.CORRECTION: "story.corrected", Change.UPDATE: "story.updated"}
RULE = "-" * 8


def canonical_json(data):
    """JSON as the webhook sends it: keys sorted, no spaces, UTF-8 rather than escapes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def story_uri(story, site):
    """The story's id in partners' feeds (`tag:<host>,<year>:story/<id>`): the one the feeds fixed when they
    first offered it, or the one they would give it."""
    uri = FeedEntry.objects.filter(story_id=story.pk).exclude(uri="").values_list("uri", flat=True).first()
    return uri or tag_uri(urlsplit(site.root_url).hostname or "localhost", story)


def diff_lines(diff):
    """The changed paragraphs as plain text for an email."""
    if not diff:
        return ["The story's text is otherwise unchanged."]
    lines = []
    for pair in diff:
        if pair["before"] and pair["after"]:
            lines += [f"Before: {pair['before']}", f"After: {pair['after']}", ""]
        elif pair["after"]:
            lines += [f"Added: {pair['after']}", ""]
        else:
            lines += [f"Removed: {pair['before']}", ""]
    return lines[:-1]


class Content:
    """The words of one change's messages, shared by all its notices: the site, policy and story address are
    read once, and the handout once per partner."""

    def __init__(self, story, change):
        self.story, self.change = story, change
        self.site = story.get_site()
        self.base_url = site_base_url(story)
        self.policy = RepublishingPolicy.for_site(self.site)
        self.outlet = NewsroomSettings.for_site(self.site).outlet_name
        self.story_url = story.get_full_url()
        self._handouts = {}
        self._uri = None

    @property
    def is_correction(self):
        return self.change.kind == Change.CORRECTION

    @property
    def uri(self):
        if self._uri is None:
            self._uri = story_uri(self.story, self.site)
        return self._uri

    def handout(self, partner):
        """The updated handout, its pixel the partner's."""
        if partner.pk not in self._handouts:
            self._handouts[partner.pk] = build_handout(self.story, self.policy, via=partner_via(partner.pk))
        return self._handouts[partner.pk]

    def subject(self):
        return f"{'Correction' if self.is_correction else 'Update'} to “{self.story.title}”"

    def email_body(self, partner, address):
        handout = self.handout(partner)
        what = "corrected" if self.is_correction else "substantively updated"
        copy_line = (f"Your copy: {address}" if address
                     else "Your copy: made from your feed (its address did not reach us)")
        lines = [
            f"Hello {partner.name},",
            "",
            f"We have {what} “{self.story.title}”, a story of {self.outlet} that you republished.",
            "",
            copy_line,
            f"Our story: {self.story_url}",
            "",
            "Correction:" if self.is_correction else "Update:",
            self.change.text,
            "",
            "What changed in the story's text:",
            "",
            *diff_lines(self.change.diff),
            "",
            f"Please update your copy. The updated story (version {self.change.version}) follows, as HTML to paste "
            "into your story (it keeps your tracking image) and as plain text.",
            "",
            f"{RULE} HTML {RULE}",
            handout.html,
        ]
        if handout.head:
            lines += ["", f"{RULE} For your page's <head> {RULE}", handout.head]
        lines += ["", f"{RULE} Plain text {RULE}", handout.text, "", "Thank you,", self.outlet, ""]
        return "\n".join(lines)

    def webhook_data(self, partner, address, key):
        handout = self.handout(partner)
        return {
            "event": EVENTS[self.change.kind],
            "story": {"id": self.story.pk, "uri": self.uri, "url": self.story_url, "version": self.change.version},
            "copy": {"url": address or None},
            "change": {"kind": self.change.kind, "text": self.change.text, "date": iso(self.change.created_at),
                       "diff": self.change.diff},
            "handout": {"html": handout.html, "text": handout.text, "head": handout.head},
            "idempotency_key": key,
        }

    def webhook_body(self, partner, address, key):
        return canonical_json(self.webhook_data(partner, address, key))
