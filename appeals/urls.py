"""Reader-facing addresses of appeals; mounted in byline/urls.py with `path("", include("appeals.urls"))`."""

from django.urls import path

from . import views

app_name = "appeals"

urlpatterns = [
    path("appeals/click/<int:variant_id>/<int:story_id>/", views.click, name="click"),
    path("appeals/seen/<int:variant_id>/<int:story_id>.gif", views.seen, name="seen"),
]
