"""Admin URLs of the Copies pages, mounted at /admin/copies/ by `wagtail_hooks` (behind Wagtail's login)."""

from django.urls import path

import byline.converters  # noqa: F401  (registers <id:...>, which refuses what is no database id)

from . import views

app_name = "verify_copies"

urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("stories/<id:story_id>/", views.StoryView.as_view(), name="story"),
    # `path`, not `str`: a host is whatever the copy's URL said, and a link to it must never fail to build.
    path("republishers/<path:host>/", views.RepublisherView.as_view(), name="republisher"),
    path("checks/<id:pk>/", views.VerificationView.as_view(), name="verification"),
]
