"""Admin URLs of the Wire desk, mounted at /admin/wire/ by `wagtail_hooks` (behind Wagtail's login)."""

from django.urls import path

from .admin_views import WireDeskView

app_name = "wire_desk"

urlpatterns = [path("", WireDeskView.as_view(), name="desk")]
