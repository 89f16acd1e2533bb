"""What the box, the republish page and the JSON endpoint show for one story: the decision, the policy and,
when the story may travel, the handout."""

from dataclasses import dataclass

from byline.sanitize import clean_html

from .eligibility import Eligibility, is_republishable
from .handout import Handout, build_handout


@dataclass(frozen=True)
class Offer:
    eligibility: Eligibility
    policy: object
    handout: Handout | None
    canonical_url: str

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
        }


def republishing_offer(story, policy, request=None, with_handout=True):
    """The offer for `story`; `with_handout=False` leaves the handout out (it is built from the whole body
    again), for the story page's dialog, which fetches it from the JSON endpoint when a partner opens it."""
    eligibility = is_republishable(story, policy)
    handout = build_handout(story, policy, request) if eligibility and with_handout else None
    return Offer(eligibility, policy, handout, story.get_full_url(request))
