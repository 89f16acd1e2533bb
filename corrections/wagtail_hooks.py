"""The Corrections pages in the admin, and what the story's Republishing tab shows of its corrections."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import views

urls = ([
    path("", views.ChangesView.as_view(), name="changes"),
    path("<int:change_id>/", views.ChangeView.as_view(), name="change"),
], "corrections")


@hooks.register("register_admin_urls")
def register_corrections_urls():
    return [path("corrections/", include(urls))]


@hooks.register("register_admin_menu_item")
def register_corrections_menu_item():
    return MenuItem("Corrections", reverse("corrections:changes"), name="corrections", icon_name="warning", order=270)
