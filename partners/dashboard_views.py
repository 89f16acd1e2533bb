"""Admin pages: every partner's numbers, and one partner's copies per story (registered in wagtail_hooks.py,
so Wagtail's admin access check guards them)."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from tracking.api import period_from

from . import dashboard
from .models import Partner


class PartnersView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "partners/admin/partners.html"
    page_title = "Partners"
    header_icon = "group"

    def get_context_data(self, **kwargs):
        period = period_from(self.request.GET)
        return {**super().get_context_data(**kwargs), "period": period, "rows": dashboard.partner_rows(period)}

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": "Partners"}]


class PartnerView(PartnersView):
    template_name = "partners/admin/partner.html"

    def get_page_title(self):
        return self.partner.name

    def get(self, request, *args, **kwargs):
        self.partner = get_object_or_404(Partner, pk=kwargs["partner_id"])
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super(PartnersView, self).get_context_data(**kwargs)
        period = period_from(self.request.GET)
        return {**context, "period": period, **dashboard.partner_detail(self.partner, period)}

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": reverse("partners_numbers:index"), "label": "Partners"},
                                         {"url": "", "label": self.partner.name}]
