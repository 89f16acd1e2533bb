"""The Appeals menu in the Wagtail admin: campaigns and section appeals (a snippet with preview), a link to the
evergreen appeal in Settings → Support, and the Results dashboard."""

from django.urls import path, reverse
from wagtail.admin.viewsets.base import ViewSet
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from .admin_views import ResultsView
from .models import Appeal


class AppealViewSet(SnippetViewSet):
    model = Appeal
    icon = "pick"
    menu_label = "Campaigns and section appeals"
    url_prefix = "appeals/campaigns"
    list_display = ["name", "kind", "starts_at", "ends_at", "live"]
    list_filter = ["live"]
    search_fields = ["name"]
    ordering = ["-starts_at", "name"]


class EvergreenViewSet(ViewSet):
    """Only a menu item: the evergreen appeal is edited in Settings → Support."""

    name = "appeals_evergreen"
    icon = "pick"
    menu_label = "Evergreen appeal"

    @property
    def menu_url(self):
        return reverse("wagtailsettings:edit", args=["appeals", "supportsettings"])


class ResultsViewSet(ViewSet):
    name = "appeals_results"
    url_prefix = "appeals/results"
    icon = "view"
    menu_label = "Results"

    def get_urlpatterns(self):
        return [path("", ResultsView.as_view(), name="index")]


class AppealsGroup(SnippetViewSetGroup):
    menu_label = "Appeals"
    menu_icon = "pick"
    menu_name = "appeals"
    menu_order = 260
    items = (AppealViewSet, EvergreenViewSet, ResultsViewSet)


register_snippet(AppealsGroup)
