from django.urls import path

import byline.converters  # noqa: F401  (registers <id:...>, which refuses what is no database id)

from . import views

app_name = "wire"
urlpatterns = [
    path("api/wire/ninjs", views.push_ninjs, name="push"),
    path("api/ninjs/<id:story_id>", views.story_ninjs, name="story-ninjs"),
]
