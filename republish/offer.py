"""What the box, the republish page and the JSON endpoint show for one story: the decision, the policy,
the story's version and corrections and, when the story may travel, the handout."""

from dataclasses import dataclass

from django.utils.functional import cached_property

from byline.sanitize import clean_html

from .eligibility import Eligibility, is_republishable
from .handout import Handout, build_handout, correction_notes, site_base_url


@dataclass(frozen=True)
class Offer:
    eligibility: Eligibility
    policy: object
    handout: Handout | None
    canonical_url: str
    story: object = None
    request: object = None

    @property
    def version(self):
        return self.handout.version if self.handout else getattr(self.story, "version", 1)

    @cached_property
    def corrections(self):
        """The story's corrections (republish.handout.Note), oldest first: the handout's, or read
        when first asked for (the story page's box has no handout and never asks)."""
        if self.handout is not None:
            return self.handout.corrections
        if self.story is None:
            return ()
        return correction_notes(self.story, site_base_url(self.story, self.request))

    @property
    def introduction(self):
        return clean_html(self.policy.introduction)

    @property
    def guidelines(self):
        return clean_html(self.policy.guidelines)

    def as_json(self):
        license_name = self.policy.license_name
        return {
            "eligible": self.eligibility.eligible,
            "reason": self.eligibility.reason,
            "policy": {
                "introduction": self.introduction,
                "guidelines": self.guidelines,
                "requires_canonical": self.policy.require_canonical,
                "requires_noindex": self.policy.require_noindex,
            },
            "license": {"name": license_name, "url": self.policy.license_url} if license_name else None,
            "html": self.handout.html if self.handout else None,
            "head": self.handout.head if self.handout else None,
            "text": self.handout.text if self.handout else None,
            "script": self.handout.script if self.handout else None,
            "canonical_url": self.canonical_url,
            # Whether a copy is out of date: its version against this one, and the corrections it lacks.
            "version": self.version,
            "corrections": [note.as_json() for note in self.corrections],
        }


def public_eligibility(story, policy):
    """Whether anyone reading the story page may republish it: as `is_republishable`, unless the policy
    offers stories to partners only, when the box says how to become one instead."""
    eligibility = is_republishable(story, policy)
    if eligibility and policy.partners_only:
        ask = f" To become one, write to {policy.contact_email}." if policy.contact_email else ""
        return Eligibility(False, f"Our stories are republished by our partners, through their own feeds.{ask}",
                           "partners-only")
    return eligibility


# Where a story page's context keeps the story's public eligibility (republish.wagtail_hooks), for its box.
ELIGIBILITY = "republish_eligibility"


def republishing_offer(story, policy, request=None, with_handout=True, eligibility=None):
    """The offer for `story`; `with_handout=False` leaves the handout out (it is built from the whole body
    again), for the story page's dialog, which fetches it from the JSON endpoint when a partner opens it.
    `eligibility`: `public_eligibility(story, policy)` when the caller has it already."""
    if eligibility is None:
        eligibility = public_eligibility(story, policy)
    handout = build_handout(story, policy, request) if eligibility and with_handout else None
    return Offer(eligibility, policy, handout, story.get_full_url(request), story, request)
