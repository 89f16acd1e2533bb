"""The Copies menu item and pages in the Wagtail admin, a "Copies" button on each story's edit page, and
the URLs editors add by hand (a snippet)."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.menus.pages import PageMenuItem
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from stories.models import StoryPage

from . import admin_urls
from .models import ManualCopy


@hooks.register("register_admin_urls")
def register_copies_urls():
    return [path("copies/", include(admin_urls, namespace="verify_copies"))]


@hooks.register("register_admin_menu_item")
def register_copies_menu_item():
    return MenuItem("Copies", reverse("verify_copies:overview"), name="copies", icon_name="circle-check", order=260)


class StoryCopiesButton(PageMenuItem):
    label = "Copies"
    icon_name = "circle-check"
    url_name = "verify_copies:story"

    def is_shown(self, user):
        return issubclass(self.page.specific_class or type(self.page), StoryPage)


@hooks.register("register_page_header_buttons")
def story_copies_button(page, user, view_name, next_url=None):
    yield StoryCopiesButton(page=page, priority=41)


class ManualCopyViewSet(SnippetViewSet):
    model = ManualCopy
    icon = "link"
    menu_label = "URLs to verify"
    add_to_admin_menu = False
    list_display = ["url", "story", "note", "added_at"]
    search_fields = ["url", "note"]


register_snippet(ManualCopyViewSet)
