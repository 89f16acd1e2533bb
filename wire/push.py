"""The push endpoint's rules, apart from HTTP: who may push, how much, and what an answer holds."""

from django.conf import settings
from django.utils import timezone

from .importer import CREATED, FAILED, WITHDRAWN, Options, find_origin, import_item
from .models import AgencyToken, WireItem
from .ninjs import NinjsError, parse_item, read_document


class Refusal(Exception):
    def __init__(self, status, message, **extra):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def bearer_token(authorization):
    scheme, _, secret = (authorization or "").partition(" ")
    return secret.strip() if scheme.lower() in ("bearer", "token") else ""


def authenticate(authorization):
    """The active AgencyToken a request presents, or Refusal: 401 without a known token, 403 when revoked."""
    secret = bearer_token(authorization)
    if not secret:
        raise Refusal(401, "send an agency token: Authorization: Bearer <token>")
    token = AgencyToken.find(secret)
    if token is None:
        raise Refusal(401, "unknown token")
    if not token.is_active:
        raise Refusal(403, "this token was revoked; ask the newsroom for a new one")
    AgencyToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def check_size(content_length):
    limit = settings.WIRE_PUSH_MAX_BYTES
    try:
        length = int(content_length or 0)
    except ValueError:
        raise Refusal(400, "Content-Length is not a number") from None
    if length > limit:
        raise Refusal(413, f"the body is {length} bytes; the limit is {limit}")
    return limit


def receive(body, token):
    """(HTTP status, answer) for a pushed document: every item is checked first, so a batch with a bad
    item is refused whole (400) and the agency can resend it once fixed; then each item is imported."""
    try:
        raws = read_document(body)
    except NinjsError as error:
        raise Refusal(400, str(error)) from None
    items, errors = [], []
    for index, raw in enumerate(raws):
        try:
            items.append(parse_item(raw))
        except NinjsError as error:
            uri = raw.get("uri") if isinstance(raw, dict) and isinstance(raw.get("uri"), str) else None
            errors.append({"index": index, "uri": uri, "error": str(error)})
    if errors:
        raise Refusal(400, "invalid ninjs; nothing was imported", errors=errors)
    refused = [{"index": index, "uri": item.uri, "error": reason}
               for index, item in enumerate(items) if (reason := _aimed_elsewhere(item, token.origin))]
    if refused:
        raise Refusal(403, "a token updates and withdraws its own agency's items only; nothing was imported",
                      errors=refused)
    # The token's agency, never the document's word, decides whose item it is and so its stories' origin.
    options = Options(agency=token.origin, source=f"push: {token.name}"[:200])
    results = [import_item(item, options) for item in items]
    answer = {"items": [result.as_json() for result in results]}
    if any(result.status == FAILED for result in results):
        return 422, answer
    return (201 if any(result.status == CREATED for result in results) else 200), answer


def _aimed_elsewhere(item, agency):
    """Why an item is refused as meant for another agency's item of the same uri, or "".

    Identity is (agency, uri), so the importer never touches another agency's item anyway: this says so
    plainly (403) instead of answering a cancellation with "skipped" or an update with a new story. For a uri
    that other agencies hold and this one does not, an item is meant for theirs when it withdraws it, is an
    update (a version above 1), or names one of them (copyrightholder, infosources, provider). Any other item
    of that uri is this agency's own first delivery: two agencies may use the same uri for different items.
    """
    holders = WireItem.objects.filter(uri=item.uri)
    if not holders.exists() or holders.filter(agency=agency).exists():
        return ""
    if item.pubstatus in WITHDRAWN:
        return f"pubstatus {item.pubstatus} for a uri that is not one of your agency's items"
    if item.version_number is not None and item.version_number > 1:
        return f"version {item.version} updates a uri that is not one of your agency's items"
    named = find_origin(item.origin_name, create=False) if item.origin_name else None
    if named is not None and holders.filter(agency=named).exists():
        return f"this uri is {named.name}'s item, not your agency's"
    return ""
