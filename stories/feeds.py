"""RSS and Atom feeds of the latest stories, for the whole site and for each section.

Every field here is plain text, and each reaches the reader through two parsers: the feed's XML (Django's
writer escapes for it) and, where the format makes the reader render the field as HTML, an HTML parser. Text
is escaped for HTML here exactly where that second parser applies, and nowhere else, so that a headline or
dek that looks like markup is shown as the characters an editor typed (stories/tests/test_feeds_inert.py).
"""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from wagtail.models import Site

from .models import NewsroomSettings, SectionPage, published_stories

FEED_LENGTH = 30


class LatestStoriesFeed(Feed):
    """RSS 2.0. Readers render an item's description as HTML, and RSS leaves a title's type unsaid (many
    readers render it as HTML too), so both are HTML here; author names and categories are text."""

    def as_html(self, text):
        return escape(text)

    def get_object(self, request, section_slug=None):
        self.site = Site.find_for_request(request)
        self.newsroom = NewsroomSettings.for_site(self.site)
        if section_slug is None:
            return None
        return get_object_or_404(SectionPage.objects.live().public(), slug=section_slug)

    def title_text(self, section):
        return f"{self.newsroom.outlet_name}: {section.title}" if section else self.newsroom.outlet_name

    def title(self, section):
        return self.as_html(self.title_text(section))

    def link(self, section):
        return section.url if section else "/"

    def description(self, section):
        return self.as_html((section.description if section else self.newsroom.tagline) or self.title_text(section))

    def items(self, section):
        stories = published_stories().prefetch_related("story_authors__author")
        if section is not None:
            stories = stories.child_of(section)
        return stories[:FEED_LENGTH]

    def item_title(self, story):
        return self.as_html(story.title)

    def item_description(self, story):
        # Always HTML: RSS's description and Atom's <summary type="html"> alike.
        return escape(story.dek or story.search_description)

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
    """Atom 1.0: titles and the subtitle are written without a type, which Atom defines as text, so they stay
    text; only the summary is written as type="html"."""

    feed_type = Atom1Feed

    def as_html(self, text):
        return text

    def subtitle(self, section):
        return self.description(section)
