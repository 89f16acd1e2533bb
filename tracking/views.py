"""The Readers pages in the Wagtail admin: site overview, one story, one republisher; each also as CSV.

Every URL here is registered through `register_admin_urls`, so Wagtail's `require_admin_access` guards it:
anonymous users are sent to the admin login, users without admin access are refused. The numbers come from
`tracking.dashboard` (built on `tracking.reports`); these views only parse the range and render.
"""

import csv
import re

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.encoding import escape_uri_path
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton

from byline.sanitize import visible_controls

from . import dashboard

PER_PAGE = 100  # copies per page: a story read on 10,000 pages once made a 5.4 MB page


def paginate(request, rows, query, name="page", per_page=PER_PAGE):
    """(page of `rows` asked for in ?page=, the query string of its links with `query` kept). A page out of
    range or not a number shows the last or the first page."""
    page = Paginator(rows, per_page).get_page(request.GET.get(name))
    return page, urlencode({key: value for key, value in query.items() if key != name})


def csv_response(filename, header, rows):
    """A CSV download; every text cell neutralised against spreadsheet formulas."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # so that spreadsheet programs read the titles as UTF-8
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([dashboard.neutralise(cell) for cell in row])
    return response


class ReadersView(WagtailAdminTemplateMixin, TemplateView):
    """A Readers page for the range in ?from=&to=; ?format=csv gives its table as a file."""

    header_icon = "view"
    csv_name = "readers"

    def get(self, request, *args, **kwargs):
        self.period = dashboard.period_from(request.GET)
        if request.GET.get("format") == "csv":
            if self.period.asked_for_invalid:
                return HttpResponse("Bad date range: " + " ".join(self.period.errors) + "\n", status=400,
                                    content_type="text/plain; charset=utf-8")
            header, rows = self.get_table()
            name = f"{self.csv_name}-{self.period.start.isoformat()}-to-{self.period.end.isoformat()}.csv"
            return csv_response(name, header, rows)
        return super().get(request, *args, **kwargs)

    @cached_property
    def data(self):
        data = self.get_data()
        if data is None:
            raise Http404("Nothing has been counted for this.")
        return data

    def get_data(self):
        raise NotImplementedError

    def get_table(self):
        raise NotImplementedError

    def csv_url(self):
        # The path as sent, percent-encoded again: a host in it is whatever a copy's URL said.
        return f"{escape_uri_path(self.request.path)}?{urlencode({**self.period.query, 'format': 'csv'})}"

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": reverse("tracking_readers:overview"), "label": "Readers"}]

    def get_header_buttons(self):
        return [HeaderButton("Download CSV", url=self.csv_url(), icon_name="download", priority=10)]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.data, period=self.period, csv_url=self.csv_url())
        copies = self.data.get("copies")
        if copies is not None:  # every copy in the totals and the CSV, a page of them in the table
            page, page_query = paginate(self.request, copies, self.period.query)
            context.update(copies=page.object_list, page_obj=page, page_query=page_query, copy_count=len(copies))
        return context


class OverviewView(ReadersView):
    template_name = "tracking/admin/overview.html"
    page_title = "Readers"

    def get_data(self):
        return dashboard.overview(self.period)

    def get_table(self):
        return dashboard.overview_table(self.period)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": "Readers"}]


class StoryView(ReadersView):
    template_name = "tracking/admin/story.html"

    @property
    def csv_name(self):
        return f"story-{self.kwargs['story_id']}-copies"

    def get_data(self):
        return dashboard.story(self.kwargs["story_id"], self.period)

    def get_table(self):
        return dashboard.story_table(self.data, self.period)

    def get_page_title(self):
        return f"Readers of “{self.data['title']}”"

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [{"url": "", "label": self.data["title"]}]

    def get_header_buttons(self):
        buttons = super().get_header_buttons()
        page = self.data["page"]
        if page is not None and page.permissions_for_user(self.request.user).can_edit():
            buttons.append(HeaderButton("Edit story", url=reverse("wagtailadmin_pages:edit", args=[page.pk]),
                                        icon_name="edit", priority=20))
        return buttons


class RepublisherView(ReadersView):
    template_name = "tracking/admin/republisher.html"

    @property
    def csv_name(self):
        return "republisher-" + re.sub(r"[^a-z0-9.-]+", "_", self.kwargs["host"].lower())[:80] + "-copies"

    def get_data(self):
        return dashboard.republisher(self.kwargs["host"], self.period)

    def get_page_title(self):
        return f"Readers on {visible_controls(self.data['host'])}"

    def get_table(self):
        return dashboard.republisher_table(self.data, self.period)

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [{"url": "", "label": visible_controls(self.data["host"])}]
