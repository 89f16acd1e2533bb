from django.urls import path

from . import views

urlpatterns = [
    path("republish/<int:story_id>/", views.republish_page, name="republish-page"),
    path("republish/<int:story_id>.json", views.republish_json, name="republish-json"),
]
