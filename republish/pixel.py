"""The one place that knows the tracking pixel's URL format.

    /pixel/<story id>/<via>/<signature>.gif

`via` says how the copy was made (`html` from the handout, `text` from the plain-text version, `site` for
our own pages). The signature is an HMAC over the story id with a key derived from SECRET_KEY, so a forged
or mistyped id can be told apart from a real copy's pixel without a database look-up.
"""

import hmac
import re

from django.conf import settings
from django.utils.crypto import salted_hmac

VIAS = ("html", "text", "site", "script")
SIGNATURE_LENGTH = 16
_SALT = "byline.republish.pixel"


def sign(story_id):
    return salted_hmac(_SALT, str(int(story_id)), algorithm="sha256").hexdigest()[:SIGNATURE_LENGTH]


def is_valid(story_id, signature):
    try:
        expected = sign(story_id)
    except (TypeError, ValueError):
        return False
    return hmac.compare_digest(expected, str(signature))


def pixel_path(story_id, via="html"):
    if via not in VIAS:
        raise ValueError(f"unknown pixel source {via!r}")
    return f"/pixel/{int(story_id)}/{via}/{sign(story_id)}.gif"


def pixel_url(story_id, via="html", base_url=None):
    return (base_url or settings.WAGTAILADMIN_BASE_URL).rstrip("/") + pixel_path(story_id, via)


_PATH = re.compile(r"^/pixel/(\d{1,18})/([a-z]{1,8})/([0-9a-f]{" + str(SIGNATURE_LENGTH) + r"})\.gif$")


def parse_pixel_path(path):
    """(story id, via, signature) from a pixel path, or None when the path is not one we build."""
    match = _PATH.match(path)
    if not match or match.group(2) not in VIAS:
        return None
    return int(match.group(1)), match.group(2), match.group(3)
