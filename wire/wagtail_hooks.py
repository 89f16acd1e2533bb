from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import admin_urls


@hooks.register("register_admin_urls")
def register_wire_urls():
    return [path("wire/", include(admin_urls, namespace="wire_desk"))]


@hooks.register("register_admin_menu_item")
def register_wire_menu_item():
    return MenuItem("Wire desk", reverse("wire_desk:desk"), name="wire-desk", icon_name="doc-full", order=270)
