"""A partner's keyed addresses, mounted at /partners/ by byline/urls.py."""

from django.urls import path, register_converter

from . import views
from .models import KEY_BYTES


class PartnerKey:
    """What Partner.issue_key hands out: 32 URL-safe characters. Anything else under /partners/ is left to the
    site's own pages (a page an editor calls "partners" keeps its children)."""

    regex = f"[A-Za-z0-9_-]{{{KEY_BYTES * 4 // 3}}}"  # base64 without padding

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(PartnerKey, "partner_key")

urlpatterns = [
    path("<partner_key:key>/", views.partner_page, name="partner-page"),
    path("<partner_key:key>/copies.csv", views.partner_copies_csv, name="partner-copies-csv"),
    path("<partner_key:key>/atom/", views.atom_feed, name="partner-atom"),
    path("<partner_key:key>/ninjs/", views.ninjs_feed, name="partner-ninjs"),
]
