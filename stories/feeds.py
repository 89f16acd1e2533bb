"""RSS and Atom feeds of the latest stories, for the whole site and for each section."""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.utils.feedgenerator import Atom1Feed
from wagtail.models import Site

from .lists import published_stories
from .models import NewsroomSettings, SectionPage

FEED_LENGTH = 30


class LatestStoriesFeed(Feed):
    def get_object(self, request, section_slug=None):
        self.site = Site.find_for_request(request)
        self.newsroom = NewsroomSettings.for_site(self.site)
        if section_slug is None:
            return None
        return get_object_or_404(SectionPage.objects.live().public(), slug=section_slug)

    def title(self, section):
        return f"{self.newsroom.outlet_name}: {section.title}" if section else self.newsroom.outlet_name

    def link(self, section):
        return section.url if section else "/"

    def description(self, section):
        return (section.description if section else self.newsroom.tagline) or self.title(section)

    def items(self, section):
        stories = published_stories().prefetch_related("story_authors__author")
        if section is not None:
            stories = stories.child_of(section)
        return stories[:FEED_LENGTH]

    def item_title(self, story):
        return story.title

    def item_description(self, story):
        return story.dek or story.search_description

    def item_link(self, story):
        return story.full_url

    def item_pubdate(self, story):
        return story.published_at

    def item_updateddate(self, story):
        return story.updated_at or story.last_published_at

    def item_author_name(self, story):
        return ", ".join(link.author.name for link in story.story_authors.all()) or None

    def item_categories(self, story):
        return [tag.name for tag in story.tags.all()]


class LatestStoriesAtomFeed(LatestStoriesFeed):
    feed_type = Atom1Feed
    subtitle = LatestStoriesFeed.description
