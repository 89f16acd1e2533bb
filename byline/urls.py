from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.urls import include, path, re_path
from django.views.defaults import page_not_found
from django.views.static import serve as serve_file
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from stories.feeds import LatestStoriesAtomFeed, LatestStoriesFeed
from stories.sitemaps import news_sitemap, robots_txt

NOT_FOUND = {"exception": Http404()}


def serve_media(request, path, document_root):
    """Uploads, when Byline serves them itself: a name the file system refuses (too long, say) is not found."""
    try:
        return serve_file(request, path, document_root=document_root)
    except OSError as error:
        raise Http404(path) from error


urlpatterns = [
    path("django-admin/", admin.site.urls),
    # Wagtail reads these ids with int(), which refuses more than 4,300 digits, and takes revision 0 for "no
    # revision" and then uses it (500s): no page or revision has an id of 20 digits or of 0.
    re_path(r"^admin/pages/[0-9]+/revisions/compare/.*[0-9]{20,}", page_not_found, NOT_FOUND),
    re_path(r"^admin/pages/[0-9]{20,}/", page_not_found, NOT_FOUND),
    re_path(r"^admin/pages/[0-9]+/revisions/0+/revert/$", page_not_found, NOT_FOUND),
    path("admin/", include(wagtailadmin_urls)),
    # The same int() in Wagtail's document download: no document has an id of even 20 digits.
    re_path(r"^documents/[0-9]{20,}/", page_not_found, NOT_FOUND),
    path("documents/", include(wagtaildocs_urls)),
    path("feeds/rss/", LatestStoriesFeed(), name="feed-rss"),
    path("feeds/atom/", LatestStoriesAtomFeed(), name="feed-atom"),
    path("feeds/<slug:section_slug>/rss/", LatestStoriesFeed(), name="section-feed-rss"),
    path("feeds/<slug:section_slug>/atom/", LatestStoriesAtomFeed(), name="section-feed-atom"),
    path("sitemap.xml", sitemap, name="sitemap"),
    path("sitemap-news.xml", news_sitemap, name="news-sitemap"),
    path("robots.txt", robots_txt, name="robots-txt"),
    path("healthz", include("byline.health")),
    path("", include("republish.urls")),
    path("", include("appeals.urls")),
    path("", include("wire.urls")),
    path("partners/", include("partners.urls")),
]

if settings.SERVE_MEDIA:
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns += [re_path(rf"^{media_prefix}(?P<path>.*)$", serve_media, {"document_root": settings.MEDIA_ROOT})]

urlpatterns += [path("", include(wagtail_urls))]
