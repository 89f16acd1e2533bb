"""Partners in the Wagtail admin: managed under Snippets → Partners; their numbers under the Partners menu
item; the reach report for funders under its own."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from . import admin_urls, dashboard_views
from .models import Partner


class PartnerViewSet(SnippetViewSet):
    model = Partner
    icon = "group"
    list_display = ["name", "status", "key_hint", "last_feed_fetch"]
    list_filter = ["status"]
    search_fields = ["name", "notes"]


register_snippet(PartnerViewSet)

numbers_urls = ([
    path("", dashboard_views.PartnersView.as_view(), name="index"),
    path("<int:partner_id>/", dashboard_views.PartnerView.as_view(), name="partner"),
], "partners_numbers")


@hooks.register("register_admin_urls")
def register_partner_numbers_urls():
    return [path("partners/", include(numbers_urls)),
            path("partners/", include(admin_urls, namespace="partners_admin"))]


@hooks.register("register_admin_menu_item")
def register_partners_menu_item():
    return MenuItem("Partners", reverse("partners_numbers:index"), name="partners", icon_name="group", order=260)


@hooks.register("register_admin_menu_item")
def register_reach_menu_item():
    return MenuItem("Reach report", reverse("partners_admin:reach"), name="reach-report", icon_name="doc-full",
                    order=265)
