"""Content-Security-Policy: one strict policy for the public site, a looser one for the two admins.

Public pages run no inline script and need no nonce, so the same header is right for every reader and the
page cache (byline/edge.py) stores it with the page. Wagtail's and Django's admins write inline scripts and
styles of their own, which only 'unsafe-inline' lets through: they get CONTENT_SECURITY_POLICY_ADMIN, chosen
by path here rather than by decorating every admin view. The policies are in byline/settings/base.py.
"""

from csp.constants import HEADER
from csp.middleware import CSPMiddleware
from csp.utils import default_config
from django.conf import settings


def is_admin_path(path):
    return path.startswith(tuple(settings.CSP_ADMIN_URL_PREFIXES))


class PathCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, sending the admin policy under CSP_ADMIN_URL_PREFIXES and the public one
    (CONTENT_SECURITY_POLICY) everywhere else. A view's own @csp decorator still wins over both."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if not report_only and parts.config is None and is_admin_path(request.path_info):
            parts.config = default_config(settings.CONTENT_SECURITY_POLICY_ADMIN["DIRECTIVES"])
        return parts

    def process_response(self, request, response):
        if is_admin_path(request.path_info) and HEADER in response:
            # Wagtail's preview renders the page through the whole middleware stack under the page's own
            # path, so the page comes back with the public policy's frame-ancestors 'none', and the preview
            # panel (a frame in the admin) would stay empty: under /admin/ the admin policy replaces it.
            del response[HEADER]
        return super().process_response(request, response)
