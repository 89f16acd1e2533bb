"""The Readers menu item and pages in the Wagtail admin, a "Readers" item in each story's "…" menus (on its
edit page and in the page explorer), and the ranking behind "Most Popular" (stories.lists)."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.menus.pages import PageMenuItem

from stories.models import StoryPage

from . import admin_urls
from .reports import most_popular

hooks.register("rank_most_popular", most_popular)


@hooks.register("register_admin_urls")
def register_readers_urls():
    return [path("readers/", include(admin_urls, namespace="tracking_readers"))]


@hooks.register("register_admin_menu_item")
def register_readers_menu_item():
    return MenuItem("Readers", reverse("tracking_readers:overview"), name="readers", icon_name="view", order=250)


class StoryReadersButton(PageMenuItem):
    label = "Readers"
    icon_name = "view"
    url_name = "tracking_readers:story"

    def is_shown(self, user):
        return issubclass(self.page.specific_class or type(self.page), StoryPage)


@hooks.register("register_page_header_buttons")
def story_readers_button(page, user, view_name, next_url=None):
    yield StoryReadersButton(page=page, priority=40)


@hooks.register("register_page_listing_more_buttons")
def story_readers_listing_button(page, user, next_url=None):
    yield StoryReadersButton(page=page, priority=50)
