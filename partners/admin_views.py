"""The reach report in the Wagtail admin: a form (dates, partner, format) whose answer is the report as a file.

Mounted by `partners.admin_urls` through `register_admin_urls`, so Wagtail's admin access check guards it; the
view checks it too (`require_admin_access`), wherever it is mounted. The report is built and rendered by
`partners.reach`, as `manage.py reach_report` does.
"""

from django import forms
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.generic import TemplateView
from wagtail.admin.auth import require_admin_access
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from tracking.api import period_from

from . import reach
from .models import Partner

DATE_FORMAT = "%Y-%m-%d"


class ReachForm(forms.Form):
    start = forms.DateField(label="From", input_formats=[DATE_FORMAT], help_text="The first UTC day counted.",
                            widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT),
                            error_messages={"invalid": "Write the date YYYY-MM-DD, e.g. 2026-11-01."})
    end = forms.DateField(label="To", input_formats=[DATE_FORMAT], help_text="The last UTC day counted (included).",
                          widget=forms.DateInput(attrs={"type": "date"}, format=DATE_FORMAT),
                          error_messages={"invalid": "Write the date YYYY-MM-DD, e.g. 2026-11-30."})
    partner = forms.ModelChoiceField(queryset=Partner.objects.all(), required=False, empty_label="All partners",
                                     help_text="One partner's copies only; our site is still shown for context.")
    format = forms.ChoiceField(choices=[("pdf", "PDF"), ("html", "HTML page"), ("csv", "CSV (spreadsheet)")],
                               initial="pdf")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            try:
                reach.parse_period(start.isoformat(), end.isoformat())
            except reach.ReachError as error:
                raise forms.ValidationError(str(error)) from None
        return cleaned


@method_decorator(require_admin_access, name="dispatch")
class ReachView(WagtailAdminTemplateMixin, TemplateView):
    """GET with no `format`: the form (the last 30 UTC days by default). GET with the form's fields: the
    report as a download, or the form again with what is wrong."""

    template_name = "partners/admin/reach.html"
    page_title = "Reach report"
    header_icon = "doc-full"

    def get(self, request, *args, **kwargs):
        if "format" not in request.GET:
            default = period_from({})
            form = ReachForm(initial={"start": default.start, "end": default.end, "format": "pdf"})
            return self.render_to_response(self.get_context_data(form=form))
        form = ReachForm(request.GET)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form), status=400)
        data = form.cleaned_data
        report = reach.build(data["start"], data["end"], data["partner"])
        response = HttpResponse(reach.render(report, data["format"]), content_type=reach.FORMATS[data["format"]])
        response["Content-Disposition"] = f'attachment; filename="{reach.filename(report, data["format"])}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": "Reach report"}]
