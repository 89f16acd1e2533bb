"""The Corrections pages in the admin: every change, and for each its copies, who was told, how, whether it was
delivered, and whether the copy took it. Registered in wagtail_hooks.py, behind Wagtail's admin login."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .models import Change
from .report import change_rows


class ChangesView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "corrections/admin/changes.html"
    page_title = "Corrections"
    header_icon = "warning"

    def get_context_data(self, **kwargs):
        changes = Change.objects.select_related("story").prefetch_related("notices", "notices__messages")
        return {**super().get_context_data(**kwargs), "changes": changes.order_by("-created_at")[:200]}

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": "Corrections"}]


class ChangeView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "corrections/admin/change.html"
    header_icon = "warning"

    def get(self, request, *args, **kwargs):
        self.change = get_object_or_404(Change.objects.select_related("story"), pk=kwargs["change_id"])
        return super().get(request, *args, **kwargs)

    def get_page_title(self):
        return str(self.change)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "change": self.change, "rows": change_rows(self.change)}

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": reverse("corrections:changes"), "label": "Corrections"},
                                         {"url": "", "label": str(self.change)}]
