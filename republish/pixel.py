"""The one place that knows the tracking pixel's URL format.

    /pixel/<story id>/<via>/<signature>.gif

`via` says how the copy was made (`html` from the handout, `text` from the plain-text version, `site` for
our own pages, `script` from the optional script), or, as `p<partner id>`, which partner's keyed feed the copy
came from. The signature is an HMAC over the story id (and the partner's, for a feed's pixel) with a key
derived from SECRET_KEY, so a forged or mistyped id can be told apart from a real copy's pixel without a
database look-up.
"""

import hmac
import re

from django.conf import settings
from django.utils.crypto import salted_hmac

VIAS = ("html", "text", "site", "script")
SIGNATURE_LENGTH = 16
_SALT = "byline.republish.pixel"


def sign(story_id, via=""):
    """The signature of a pixel address; only a partner's `via` is part of what is signed."""
    signed = str(int(story_id)) + (f":{via}" if is_partner_via(via) else "")
    return salted_hmac(_SALT, signed, algorithm="sha256").hexdigest()[:SIGNATURE_LENGTH]


def partner_via(partner_id):
    return f"p{int(partner_id)}"


def is_partner_via(via):
    return via[:1] == "p" and via[1:].isdigit()


def partner_of(via):
    """The partner id a feed's pixel names, or None."""
    return int(via[1:]) if is_partner_via(via) else None


def is_valid(story_id, signature, via=""):
    try:
        expected = sign(story_id, via)
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(expected, str(signature))


def pixel_path(story_id, via="html"):
    if via not in VIAS and not is_partner_via(via):
        raise ValueError(f"unknown pixel source {via!r}")
    return f"/pixel/{int(story_id)}/{via}/{sign(story_id, via)}.gif"


def pixel_url(story_id, via="html", base_url=None):
    return (base_url or settings.WAGTAILADMIN_BASE_URL).rstrip("/") + pixel_path(story_id, via)


# A partner's via is "p" and up to 7 digits: Hit.via holds 8 characters.
_PATH = re.compile(r"^/pixel/(\d{1,18})/([a-z]{1,8}|p[1-9]\d{0,6})/([0-9a-f]{" + str(SIGNATURE_LENGTH) + r"})\.gif$")


def parse_pixel_path(path):
    """(story id, via, signature) from a pixel path, or None when the path is not one we build."""
    match = _PATH.match(path)
    if not match or not (match.group(2) in VIAS or is_partner_via(match.group(2))):
        return None
    return int(match.group(1)), match.group(2), match.group(3)
