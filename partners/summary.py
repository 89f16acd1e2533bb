"""A partner described for editors and the command line: who, where, how to reach them, and what they did."""

from django.conf import settings
from django.urls import reverse


def feed_addresses(key):
    base = settings.WAGTAILADMIN_BASE_URL.rstrip("/")
    return {name: base + reverse(route, args=[key]) for name, route in (
        ("atom", "partner-atom"), ("ninjs", "partner-ninjs"), ("page", "partner-page"))}


def _iso(moment):
    return moment.isoformat() if moment else None


def summary(partner):
    return {
        "id": partner.pk,
        "name": partner.name,
        "status": partner.status,
        "key_hint": partner.key_hint,
        "sites": [site.host for site in partner.sites.all()],
        "contacts": [{"name": contact.name, "email": contact.email} for contact in partner.contacts.all()],
        "webhook_url": partner.webhook_url,
        "terms": {"license": partner.terms_license, "policy_version": partner.terms_version,
                  "accepted_on": _iso(partner.terms_accepted_on)},
        "last_feed_fetch": _iso(partner.last_feed_fetch),
        "feed_fetches": partner.feed_fetches,
        "notes": partner.notes,
    }
