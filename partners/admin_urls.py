"""Admin URLs of the reach report for funders, to be mounted by `wagtail_hooks` through `register_admin_urls`
(so behind Wagtail's admin login), e.g. `path("reach-report/", include(admin_urls, namespace="partners_admin"))`."""

from django.urls import path

from . import admin_views

app_name = "partners_admin"

urlpatterns = [
    path("reach/", admin_views.ReachView.as_view(), name="reach"),
]
