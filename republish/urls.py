from django.urls import path

import byline.converters  # noqa: F401  (registers <id:...>, which refuses what is no database id)

from . import views

urlpatterns = [
    path("republish/<id:story_id>/", views.republish_page, name="republish-page"),
    path("republish/<id:story_id>.json", views.republish_json, name="republish-json"),
]
