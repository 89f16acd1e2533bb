"""Appeals → Results in the Wagtail admin: views, clicks and click-through rate per version with 95 % intervals,
and what each section shows right now. Registered through a viewset (see `wagtail_hooks`), so Wagtail's admin
login guards it."""

from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Site

from stories.models import SectionPage
from tracking.api import period_from

from . import reports
from .models import SupportSettings
from .selection import showing_now


class ResultsView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "appeals/admin/results.html"
    page_title = "Appeal results"
    header_icon = "pick"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        period = period_from(self.request.GET)
        site = Site.find_for_request(self.request) or Site.objects.filter(is_default_site=True).first()
        support = SupportSettings.for_site(site) if site else SupportSettings()
        context.update(
            period=period,
            groups=reports.results(period.since, period.until),
            filtered=reports.filtered(period.since, period.until),
            showing=showing_now(SectionPage.objects.live().order_by("path"), support),
            appeal_enabled=support.appeal_enabled,
        )
        return context

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": "Appeal results"}]
