from datetime import timedelta

from django.shortcuts import render
from django.utils import timezone
from wagtail.models import Site

from .models import NewsroomSettings, published_stories

# Google News reads only articles published in the last two days.
NEWS_SITEMAP_WINDOW = timedelta(days=2)


def news_sitemap(request):
    site = Site.find_for_request(request)
    stories = published_stories().filter(first_published_at__gte=timezone.now() - NEWS_SITEMAP_WINDOW)[:1000]
    context = {"stories": stories, "publication_name": NewsroomSettings.for_site(site).outlet_name}
    return render(request, "stories/news_sitemap.xml", context, content_type="application/xml")


def robots_txt(request):
    site_url = request.build_absolute_uri("/").rstrip("/")
    return render(request, "stories/robots.txt", {"site_url": site_url}, content_type="text/plain")
