"""Which copy a hit came from: the page URL a partner's page reports, or the browser's Referer."""

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings

MAX_URL = 500
# Parameters that say how a reader arrived, not which page they read.
TRACKING_PARAMETERS = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|_ga|_gl|igshid|ref|ref_src|"
    r"s_cid|cmpid|ocid|mkt_tok|oly_anon_id|oly_enc_id|vero_id|__s|hsa_\w+|_hs\w+)$",
    re.IGNORECASE,
)
# A partner's own CMS showing the story to its editors: not a reader.
PARTNER_PREVIEW = re.compile(
    r"(/wp-admin/|/wp-json/|[?&](preview|preview_id|preview_nonce|_thumbnail_id)=|/ghost/|/admin/|"
    r"/user/\d+/edit|/node/\d+/edit|/edit(/|$|\?)|/preview(/|$|\?)|/drafts?/|[?&]p=\d+&preview)",
    re.IGNORECASE,
)


# The common address, already in normal form: lower-case scheme and host, no port, user, query or fragment,
# printable ASCII. It needs no parsing (a pixel hit's budget is a few microseconds).
_PLAIN = re.compile(r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(/[!-\"$-\x3e@-~]*)?")
# Control characters, percent-encoded in a stored address: PostgreSQL refuses a NUL in text, and one such
# hit would hold up every batch after it.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _escape_controls(url):
    return _CONTROL.sub(lambda match: f"%{ord(match.group()):02X}", url) if _CONTROL.search(url) else url


def normalize(url):
    """Scheme and host lower-cased, default port, fragment and tracking parameters dropped; '' if not a
    web address. An origin-only referrer stays an origin ('https://partner.example')."""
    return identify(url)[0]


def identify(url):
    """(normalize(url), its host): the pixel needs both, and the common address yields both in one match."""
    if not url:
        return "", ""
    plain = _PLAIN.fullmatch(url)
    if plain:
        scheme, host, path = plain.groups()
        if not path or path == "/":
            return f"{scheme}://{host}"[:MAX_URL], host
        return f"{scheme}://{host}{path}"[:MAX_URL], host
    normalized = _normalize_parsed(url)
    return normalized, host_of(normalized) if normalized else ""


def _normalize_parsed(url):
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if scheme not in ("http", "https") or not host:
        return ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    if port and port != {"http": 80, "https": 443}[scheme]:
        host = f"{host}:{port}"
    query = parts.query and urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                                       if not TRACKING_PARAMETERS.match(k)])
    path = parts.path if parts.path not in ("", "/") else ""
    if not path and not query:
        return _escape_controls(f"{scheme}://{host}")[:MAX_URL]
    return _escape_controls(urlunsplit((scheme, host, path or "/", query, "")))[:MAX_URL]


def is_partner_preview(url):
    if not url:
        return False
    lowered = url.lower()
    # Every pattern of PARTNER_PREVIEW contains one of these words, which most addresses lack: `in` checks
    # cost a tenth of the expression's search (written out, a third of a loop over them).
    hinted = ("admin" in lowered or "preview" in lowered or "edit" in lowered or "draft" in lowered
              or "ghost" in lowered or "wp-json" in lowered or "_thumbnail_id" in lowered)
    return hinted and bool(PARTNER_PREVIEW.search(url))


_PLAIN_HOST = re.compile(r"https?://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?=[/?#]|\Z)")


def host_of(url):
    plain = _PLAIN_HOST.match(url)
    if plain:
        return plain.group(1)
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


_our_host = (None, "")


def our_host():
    """The host of our own site (WAGTAILADMIN_BASE_URL): readers there are counted for our site."""
    global _our_host
    base = settings.WAGTAILADMIN_BASE_URL
    if _our_host[0] != base:  # parsed once, not on every hit; tests change the setting
        _our_host = (base, host_of(base))
    return _our_host[1]
