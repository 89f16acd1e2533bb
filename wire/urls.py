from django.urls import path

from . import views

app_name = "wire"
urlpatterns = [
    path("api/wire/ninjs", views.push_ninjs, name="push"),
    path("api/ninjs/<int:story_id>", views.story_ninjs, name="story-ninjs"),
]
