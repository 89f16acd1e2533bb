"""An appeal as a story shows it, whether it comes from a version of an appeal or from Settings → Support.

Below the models (appeals/models.py uses it for the editor's preview), so it imports none of them: the
appeal, version and settings are passed in.
"""

import dataclasses
import string

EVERGREEN = 0  # the "version id" of the evergreen appeal in Settings → Support, in counts and click addresses


def version_letter(index):
    return string.ascii_uppercase[index] if 0 <= index < 26 else str(index + 1)


@dataclasses.dataclass(frozen=True)
class ShownAppeal:
    """What the template shows, whether it comes from a version of an appeal or from Settings → Support."""

    appeal_id: int
    variant_id: int
    name: str
    version: str  # "A", "B", … for an appeal's versions; "" for the evergreen appeal
    heading: str
    message: str
    signature_name: str
    signature_title: str
    button_label: str
    button_url: str

    @property
    def is_evergreen(self):
        return self.variant_id == EVERGREEN

    @property
    def label(self):
        return f"{self.name} · version {self.version}" if self.version else self.name


def is_http_url(url):
    """Only absolute http(s) addresses are ever linked or redirected to."""
    lowered = (url or "").strip().lower()
    return lowered.startswith(("https://", "http://")) and len(lowered) > len("https://")


def shown_from_variant(appeal, variant, index):
    return ShownAppeal(
        appeal_id=appeal.pk or 0, variant_id=variant.pk or 0, name=appeal.name, version=version_letter(index),
        heading=variant.heading, message=variant.message, signature_name=variant.signature_name,
        signature_title=variant.signature_title, button_label=variant.button_label or "Donate",
        button_url=variant.button_url if is_http_url(variant.button_url) else "",
    )


def shown_from_settings(support):
    return ShownAppeal(
        appeal_id=EVERGREEN, variant_id=EVERGREEN, name="Evergreen appeal", version="",
        heading=support.appeal_heading, message=support.appeal_message, signature_name=support.signature_name,
        signature_title=support.signature_title, button_label=support.button_label or "Donate",
        button_url=support.button_url if is_http_url(support.button_url) else "",
    )
