"""A partner's keyed addresses, mounted at /partners/ by byline/urls.py."""

from django.urls import path

from . import views

urlpatterns = [
    path("<str:key>/", views.partner_page, name="partner-page"),
    path("<str:key>/copies.csv", views.partner_copies_csv, name="partner-copies-csv"),
    path("<str:key>/atom/", views.atom_feed, name="partner-atom"),
    path("<str:key>/ninjs/", views.ninjs_feed, name="partner-ninjs"),
]
