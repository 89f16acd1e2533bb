"""The "Copies" pages in the Wagtail admin: every copy's latest verification, per story and per
republisher, one verification's evidence and history, and "Check now".

Registered through `register_admin_urls`, so Wagtail's admin login guards them. Copy URLs, hosts and
evidence come from partners' pages: templates print them as text (autoescaped), never as markup.
"""

import json

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton

from byline.sanitize import visible_controls

from . import dashboard
from .models import ManualCopy, Verification
from .runner import copy_target, manual_target, targets
from .tasks import enqueue
from .text import diff_segments

PER_PAGE = 100  # rows per page: a story read on 10,000 pages once made a 5.4 MB page


def manual_urls():
    return {
        "list": reverse(ManualCopy.snippet_viewset.get_url_name("list")),
        "add": reverse(ManualCopy.snippet_viewset.get_url_name("add")),
    }


def may_check(user, page):
    return user.is_superuser or (page is not None and page.permissions_for_user(user).can_edit())


def check_now(request, chosen, page):
    if not may_check(request.user, page):
        raise PermissionDenied
    results = enqueue(chosen)
    finished = [result for result in results if result.is_finished]
    if finished and len(finished) == len(results):
        messages.success(request, f"Checked {len(finished)} {'copy' if len(finished) == 1 else 'copies'}.")
    elif results:
        messages.success(request, f"Queued {len(results)} {'copy' if len(results) == 1 else 'copies'} for checking.")
    else:
        messages.info(request, "These copies are already waiting to be checked.")


class CopiesView(WagtailAdminTemplateMixin, TemplateView):
    header_icon = "circle-check"
    paginated = ()  # (key of a list in the data, its ?page parameter)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": reverse("verify_copies:overview"), "label": "Copies"}]

    def get(self, request, *args, **kwargs):
        self.data = self.get_data()
        if self.data is None:
            raise Http404("No copy of this is known.")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.data, status_labels=dict(Verification.STATUS_CHOICES), manual_urls=manual_urls(),
                       interval_hours=f"{float(getattr(settings, 'VERIFY_INTERVAL_HOURS', 24)):g}")
        for key, name in self.paginated:  # totals count every row; the table shows a page of them
            page = Paginator(self.data[key], PER_PAGE).get_page(self.request.GET.get(name))
            others = urlencode({other: value for other, value in self.request.GET.items() if other != name})
            context[key] = page.object_list
            context[f"{key}_pages"] = {"page_obj": page, "page_query": others, "page_name": name}
        return context


class OverviewView(CopiesView):
    template_name = "verify/admin/overview.html"
    page_title = "Copies"
    paginated = (("stories", "page"), ("republishers", "republishers_page"))

    def get_data(self):
        return dashboard.overview()

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": "Copies"}]

    def get_header_buttons(self):
        return [HeaderButton("Add a URL to verify", url=manual_urls()["add"], icon_name="plus", priority=10)]


class StoryView(CopiesView):
    template_name = "verify/admin/story.html"
    paginated = (("rows", "page"),)

    def get_data(self):
        return dashboard.story(self.kwargs["story_id"])

    def get_page_title(self):
        return f"Copies of “{self.data['title']}”"

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [{"url": "", "label": self.data["title"]}]

    def get_header_buttons(self):
        buttons = [HeaderButton("Add a URL to verify", url=manual_urls()["add"], icon_name="plus", priority=10)]
        page = self.data["page"]
        if page is not None and page.permissions_for_user(self.request.user).can_edit():
            buttons.append(HeaderButton("Edit story", url=reverse("wagtailadmin_pages:edit", args=[page.pk]),
                                        icon_name="edit", priority=20))
        return buttons

    def post(self, request, story_id):
        data = dashboard.story(story_id)
        if data is None:
            raise Http404
        check_now(request, targets(story_id=story_id), data["page"])
        return redirect("verify_copies:story", story_id=story_id)


class RepublisherView(CopiesView):
    template_name = "verify/admin/republisher.html"
    paginated = (("rows", "page"),)

    def get_data(self):
        return dashboard.republisher(self.kwargs["host"])

    def get_page_title(self):
        return f"Copies on {visible_controls(self.data['host'])}"

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [{"url": "", "label": visible_controls(self.data["host"])}]


class VerificationView(CopiesView):
    template_name = "verify/admin/verification.html"

    def get_data(self):
        self.verification = get_object_or_404(Verification, pk=self.kwargs["pk"])
        data = dashboard.detail(self.verification)
        for check in data["checks"]:
            if check["name"] == "text":
                for entry in check["evidence"].get("changed", []):
                    entry["segments"] = diff_segments(entry["original"], entry["copy"])
        data["raw"] = json.dumps(self.verification.as_json(), indent=2, ensure_ascii=False)
        return data

    def get_page_title(self):
        return f"Check of {visible_controls(self.verification.url)}"

    def get_breadcrumbs_items(self):
        return super().get_breadcrumbs_items() + [
            {"url": reverse("verify_copies:story", args=[self.verification.story_id]), "label": self.data["title"]},
            {"url": "", "label": date_format(timezone.localtime(self.verification.checked_at), "DATETIME_FORMAT")},
        ]

    def post(self, request, pk):
        verification = get_object_or_404(Verification, pk=pk)
        target = copy_target(verification.copy) if verification.copy_id else manual_target(verification.manual)
        check_now(request, [target], dashboard.story(verification.story_id)["page"])
        newest = Verification.objects.filter(copy_id=verification.copy_id, manual_id=verification.manual_id).first()
        return redirect("verify_copies:verification", pk=newest.pk)
