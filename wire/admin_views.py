"""The Wire desk page in the Wagtail admin: what came in lately, and the agencies' push tokens.

A token's secret is shown once, in the answer to the form that created it, and never stored: only its hash.
`manage.py wire_token` does the same from the command line, for operators' scripts.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from stories.models import Origin

from .models import AgencyToken, WireItem


def may_manage_tokens(user):
    return user.is_superuser or user.has_perm("wire.add_agencytoken")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="Who will hold it, e.g. “JTA wire feed”.")
    origin = forms.ModelChoiceField(
        label="Agency",
        queryset=Origin.objects.exclude(kind=Origin.OWN),
        help_text="The agency this token speaks for: items pushed with it are this agency's and come from it, "
                  "whatever they name. It can update and withdraw this agency's items only.",
    )


class RevokeForm(forms.Form):
    # A choice among tokens: "abc", a NUL or an id past 64 bits is "no such choice", never a query that fails.
    revoke = forms.ModelChoiceField(queryset=AgencyToken.objects.all())


class WireDeskView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "wire/admin/desk.html"
    page_title = "Wire desk"
    header_icon = "doc-full"

    def get_context_data(self, form=None, secret=None, **kwargs):
        context = super().get_context_data(**kwargs)
        manage = may_manage_tokens(self.request.user)
        context.update(
            items=WireItem.objects.select_related("story", "image", "agency")[:50],
            tokens=AgencyToken.objects.select_related("origin", "created_by") if manage else [],
            may_manage=manage,
            form=form or TokenForm(),
            secret=secret,
            push_url=self.request.build_absolute_uri(reverse("wire:push")),
        )
        return context

    def post(self, request):
        if not may_manage_tokens(request.user):
            raise PermissionDenied
        if "revoke" in request.POST:
            revoking = RevokeForm(request.POST)
            if not revoking.is_valid():
                return HttpResponseBadRequest("No such token.")
            token = revoking.cleaned_data["revoke"]
            token.revoke()
            messages.success(request, f"Token {token} revoked: pushes with it are refused from now on.")
            return redirect("wire_desk:desk")
        form = TokenForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        token, secret = AgencyToken.issue(created_by=request.user, **form.cleaned_data)
        # Rendered, not redirected: the secret must not travel through a message cookie or the session.
        response = self.render_to_response(self.get_context_data(secret={"token": token, "value": secret}))
        response["Cache-Control"] = "no-store"
        return response
