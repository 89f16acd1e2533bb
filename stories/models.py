"""The newsroom's content: home, sections, stories, the people who write them and where they come from."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404
from django.utils.cache import patch_cache_control
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from taggit.models import TaggedItemBase
from wagtail import hooks
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel, ObjectList, TabbedInterface
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import RichTextField, StreamField
from wagtail.images import get_image_model
from wagtail.images.models import Filter
from wagtail.images.shortcuts import get_renditions_or_not_found
from wagtail.models import Orderable, Page, Site
from wagtail.search import index
from wagtail.snippets.models import register_snippet

from .blocks import StoryBodyBlock


@register_setting(icon="site")
class NewsroomSettings(ClusterableModel, BaseSiteSetting):
    outlet_name = models.CharField(max_length=120, default="Byline Newsroom", help_text="Used in bylines and credits.")
    tagline = models.CharField(max_length=200, blank=True)
    popular_window_hours = models.PositiveIntegerField(
        default=48, help_text='"Most Popular" ranks stories by readers over this many hours.'
    )
    popular_counts_copies = models.BooleanField(
        default=False, help_text='Count readers of republished copies too, not only readers on our site.'
    )

    panels = [
        FieldPanel("outlet_name"), FieldPanel("tagline"),
        MultiFieldPanel(
            [FieldPanel("popular_window_hours"), FieldPanel("popular_counts_copies")], heading="Most Popular"
        ),
        InlinePanel("missed_pins", label="Story pinned into In Case You Missed It", max_num=4),
    ]

    class Meta:
        verbose_name = "Newsroom"


class MissedPin(Orderable):
    """A story editors want readers to see in "In Case You Missed It", ahead of the recent ones."""

    newsroom = ParentalKey(NewsroomSettings, related_name="missed_pins", on_delete=models.CASCADE)
    story = models.ForeignKey("stories.StoryPage", on_delete=models.CASCADE, related_name="+")

    panels = [FieldPanel("story")]


@register_snippet
class Origin(models.Model):
    """Who a story comes from. Republishing rights follow the origin: only our own stories travel by default."""

    OWN, WIRE, PARTNER = "own", "wire", "partner"
    KIND_CHOICES = [(OWN, "Our own newsroom"), (WIRE, "Wire service"), (PARTNER, "Partner publication")]

    name = models.CharField(max_length=120, unique=True)
    short_name = models.CharField(
        max_length=40, blank=True, help_text='Shown in the dateline, e.g. "JTA" in "JERUSALEM (JTA) —".'
    )
    kind = models.CharField(max_length=10, choices=KIND_CHOICES, default=WIRE)
    may_republish = models.BooleanField(
        default=False,
        help_text="Whether other outlets may republish this origin's stories. Tick only where the agreement allows.",
    )
    url = models.URLField(blank=True)

    panels = [
        FieldPanel("name"), FieldPanel("short_name"), FieldPanel("kind"), FieldPanel("may_republish"), FieldPanel("url")
    ]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def label(self):
        return self.short_name or self.name

    @property
    def abbreviation(self):
        """The short name when it abbreviates the name ("JTA" for "Jewish Telegraphic Agency"), which readers
        need explained; "" when the short name is a plain shorter name ("Lakeside Courier") or missing."""
        short = self.short_name.strip()
        return short if short and short != self.name.strip() and " " not in short else ""

    @property
    def is_own(self):
        return self.kind == self.OWN

    @property
    def allows_republishing(self):
        return self.is_own or self.may_republish


@register_snippet
class Author(index.Indexed, models.Model):
    PRONOUN_CHOICES = [("her", "her"), ("him", "him"), ("them", "them")]

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    role = models.CharField(max_length=200, blank=True, help_text='Completes "NAME is …", e.g. "a senior reporter".')
    bio = models.TextField(blank=True)
    email = models.EmailField(blank=True, help_text="Shown to readers, never written into the page source.")
    social_handle = models.CharField(max_length=60, blank=True, help_text="X handle without the @.")
    pronoun = models.CharField(max_length=4, choices=PRONOUN_CHOICES, default="them", help_text='As in "Email her at".')
    photo = models.ForeignKey(
        settings.WAGTAILIMAGES_IMAGE_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    panels = [
        FieldPanel("name"), FieldPanel("slug"), FieldPanel("role"), FieldPanel("bio"),
        FieldPanel("email"), FieldPanel("social_handle"), FieldPanel("pronoun"), FieldPanel("photo"),
    ]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.social_handle = self.social_handle.lstrip("@").strip()
        super().save(*args, **kwargs)


class CachedPage(Page):
    """A public page that shared caches may keep for a while; purged when its content is published again."""

    class Meta:
        abstract = True

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        if request.user.is_authenticated or getattr(request, "is_preview", False):
            patch_cache_control(response, private=True, no_cache=True)
        else:
            patch_cache_control(response, public=True, max_age=60, s_maxage=settings.STORY_CACHE_SECONDS)
        return response


class HomePage(CachedPage):
    intro = models.TextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    subpage_types = ["stories.SectionPage"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["stories"] = with_card_images(latest_stories(limit=13))
        return context

    def route(self, request, path_components):
        # Wagtail fetches a child as a Page, then again as its specific type. Every public page needs all
        # the sections anyway (navigation, story lists), so the section is found among them instead.
        if path_components and request is not None:
            slug, depth = path_components[0], self.depth + 1
            for section in sections_for_request(request).values():
                if section.slug == slug and section.depth == depth and section.path.startswith(self.path):
                    section._cached_parent_obj = self
                    return section.route(request, path_components[1:])
        return super().route(request, path_components)


class SectionPage(CachedPage):
    description = models.TextField(blank=True)
    allow_republishing = models.BooleanField(
        default=True, help_text="Untick to keep this section's stories from being offered for republishing."
    )

    content_panels = Page.content_panels + [FieldPanel("description")]
    settings_panels = Page.settings_panels + [FieldPanel("allow_republishing")]
    parent_page_types = ["stories.HomePage"]
    subpage_types = ["stories.StoryPage"]

    def stories(self):
        return StoryPage.objects.live().public().child_of(self).order_by("-first_published_at")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        paginator = Paginator(self.stories().select_related("lead_image").defer_streamfields(), 20)
        # As byline/edge.py keys the page cache: a number from 2 up is that page, anything else page 1. Past
        # the last page a 404 (never cached), not the last page again: Django's get_page() answered ?page=0
        # and ?page=999 with the last page, which the cache then kept under page 1's address or a new one.
        number = request.GET.get("page", "").strip()
        number = int(number) if re.fullmatch(r"[0-9]{1,5}", number) and int(number) > 1 else 1
        if number > paginator.num_pages:
            raise Http404("No such page of this section")
        stories = paginator.page(number)
        stories.object_list = with_card_images(stories.object_list)
        context["stories"] = stories
        return context

    def route(self, request, path_components):
        # One query for the story with what its page shows, where Wagtail would make two (the child as a
        # Page, then as its specific type) and two more for the lead image and the origin.
        if path_components:
            try:
                story = (StoryPage.objects.child_of(self).select_related("lead_image", "origin")
                         .get(slug=path_components[0]))
            except StoryPage.DoesNotExist:
                pass  # not a story: Wagtail's own routing finds it or answers 404
            else:
                story._cached_parent_obj = self
                story.__dict__["section"] = self
                return story.route(request, path_components[1:])
        return super().route(request, path_components)


class StoryTag(TaggedItemBase):
    content_object = ParentalKey("stories.StoryPage", related_name="tagged_items", on_delete=models.CASCADE)


class StoryPage(CachedPage):
    dek = models.CharField(max_length=300, blank=True, help_text="One sentence under the headline.")
    lead_image = models.ForeignKey(
        settings.WAGTAILIMAGES_IMAGE_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lead_image_caption = models.CharField(
        max_length=500, blank=True, help_text="Leave empty to use the image's own caption."
    )
    dateline_place = models.CharField(max_length=80, blank=True, help_text='e.g. "JERUSALEM".')
    origin = models.ForeignKey(
        Origin, null=True, blank=True, on_delete=models.PROTECT, related_name="stories",
        help_text="Leave empty for our own newsroom's stories.",
    )
    body = StreamField(StoryBodyBlock(), blank=True)
    tags = ClusterTaggableManager(through=StoryTag, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True, help_text='Shown as "Updated" when set.')

    REPUBLISH_AUTO, REPUBLISH_OFF, REPUBLISH_ON = "auto", "off", "on"
    REPUBLISH_CHOICES = [
        (REPUBLISH_AUTO, "Follow the rules (origin, section, window)"),
        (REPUBLISH_OFF, "Switched off for this story"),
        (REPUBLISH_ON, "Switched on (overrides section and window, never the origin)"),
    ]
    republishing = models.CharField(max_length=4, choices=REPUBLISH_CHOICES, default=REPUBLISH_AUTO)
    republishing_note = models.CharField(
        max_length=300, blank=True, help_text="Why it is switched off; shown to readers and partners."
    )
    republish_from = models.DateTimeField(
        null=True, blank=True, help_text="Embargo: other outlets may not republish before this time."
    )
    republish_window_days = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Days after publication during which it may be republished; empty: site default.",
    )
    update_note = models.CharField(
        max_length=500, blank=True, verbose_name="substantive update",
        help_text="Fill in to mark this version as a substantive update: the note reaches every republished copy "
                  "when you publish. Corrections added below reach them too.",
    )
    version = models.PositiveIntegerField(
        default=1, editable=False,
        help_text="1, then one more for each published correction or substantive update (corrections/).",
    )

    content_panels = Page.content_panels + [
        FieldPanel("dek"),
        MultiFieldPanel([FieldPanel("lead_image"), FieldPanel("lead_image_caption")], heading="Lead image"),
        InlinePanel("story_authors", label="Author", min_num=1),
        MultiFieldPanel([FieldPanel("dateline_place"), FieldPanel("origin")], heading="Dateline and origin"),
        FieldPanel("body"),
        FieldPanel("tags"),
        FieldPanel("updated_at"),
        InlinePanel("corrections", label="Correction"),
        FieldPanel("update_note"),
    ]
    # The republish app puts its verdict, "Can partners republish it?", at the top (republish/apps.py).
    republishing_panels = [
        FieldPanel("republishing"), FieldPanel("republishing_note"),
        FieldPanel("republish_from"), FieldPanel("republish_window_days"),
    ]
    edit_handler = TabbedInterface([
        ObjectList(content_panels, heading="Content"),
        ObjectList(Page.promote_panels, heading="Promote"),
        ObjectList(Page.settings_panels, heading="Settings"),
        ObjectList(republishing_panels, heading="Republishing"),
    ])
    search_fields = Page.search_fields + [index.SearchField("dek"), index.SearchField("body")]
    parent_page_types = ["stories.SectionPage"]
    subpage_types = []
    # A copy of a story is a new story: its corrections history (corrections/) starts again.
    exclude_fields_in_copy = ["version"]

    class Meta:
        verbose_name = "story"
        verbose_name_plural = "stories"

    @cached_property
    def section(self):
        return self.get_parent().specific

    def clean(self):
        super().clean()
        errors = {}
        if self.republishing == self.REPUBLISH_ON and self.origin and not self.origin.allows_republishing:
            errors["republishing"] = (
                f"Stories from {self.origin.label} may not be republished; change the origin first."
            )
        if self.republishing == self.REPUBLISH_OFF and not self.republishing_note.strip():
            errors["republishing_note"] = "Say why, so readers and partners know."
        if errors:
            raise ValidationError(errors)

    @cached_property
    def authors(self):
        return [link.author for link in self.story_authors.select_related("author").all()]

    @property
    def headline(self):
        return self.title

    @property
    def published_at(self):
        return self.first_published_at or self.go_live_at or self.latest_revision_created_at

    @property
    def is_own(self):
        return self.origin is None or self.origin.is_own

    @property
    def caption(self):
        if self.lead_image_caption:
            return self.lead_image_caption
        return self.lead_image.default_caption if self.lead_image else ""

    @property
    def dateline(self):
        """'PLACE (ORIGIN) —' for wire and partner copy, 'PLACE —' for our own, '' without a place."""
        if not self.dateline_place:
            return ""
        if self.is_own:
            return f"{self.dateline_place} —"
        return f"{self.dateline_place} ({self.origin.label}) —"

    def render_body(self, context=None):
        """The body's HTML, the dateline opening the first paragraph as newspapers print it."""
        parts, dateline = [], self.dateline
        for block in self.body:
            html = str(block.render(context))
            if dateline and block.block_type == "paragraph" and html.startswith("<p>"):
                html = format_html('<p><span class="dateline">{}</span> ', dateline) + html[3:]
                dateline = ""
            parts.append(html)
        if dateline:
            parts.insert(0, format_html('<p class="dateline">{}</p>', dateline))
        return mark_safe(even_headings("".join(parts)))

    # The lead image as the page shows it: the card for social sites and search engines, and in the story.
    CARD_IMAGE, STORY_IMAGE = "fill-1200x630", "width-1200"
    CARD_LIST_IMAGE = "fill-640x360"  # on the story's card in the home and section pages' lists

    def lead_image_renditions(self):
        """The lead image's renditions the page shows, keyed by filter spec, found with one query. Wagtail's
        `{% image %}` tag looks each one up in the cache and writes it back on every call: with the file
        cache, a file read and a file write per image per request."""
        image = self.lead_image
        if image is None:
            return {}
        specs = (self.CARD_IMAGE, self.STORY_IMAGE)
        if getattr(image, "prefetched_renditions", None) is None:
            image.prefetched_renditions = list(image.renditions.filter(filter_spec__in=specs))
        return get_renditions_or_not_found(image, specs)

    def get_context(self, request, *args, **kwargs):
        from .seo import news_article

        context = super().get_context(request, *args, **kwargs)
        sections = sections_for_request(request)
        if "section" not in self.__dict__:  # routing usually knows it already
            self.__dict__["section"] = sections.get(self.path[: -self.steplen]) or self.get_parent().specific
        context["body"] = self.render_body(context)
        context["corrections"] = list(self.corrections.all())
        # What else the page shows plugs in here: the story lists (stories/wagtail_hooks.py), whether it may
        # travel (republish/wagtail_hooks.py; the footer and the appeal must not contradict it).
        for add_to_context in hooks.get_hooks("story_page_context"):
            add_to_context(self, request, context, sections)
        renditions = self.lead_image_renditions()
        context["card_image"] = renditions.get(self.CARD_IMAGE)
        context["story_image"] = renditions.get(self.STORY_IMAGE)
        context["json_ld"] = news_article(
            self, Site.find_for_request(request), NewsroomSettings.for_request(request),
            context["card_image"].full_url if context["card_image"] else None,
        )
        return context


# ---- The queries every page builds on: the sections (fetched once per request), published stories, and
# the pictures of their cards. The lists pages show (Most Popular, In Case You Missed It) are in stories.lists.


def sections_by_path():
    """Every section, keyed by tree path. Sections are few and every page needs some of them."""
    return {section.path: section for section in SectionPage.objects.all().order_by("path")}


def sections_for_request(request):
    """`sections_by_path()` fetched once per request: routing, the navigation and the story lists share it."""
    sections = getattr(request, "byline_sections", None)
    if sections is None:
        sections = request.byline_sections = sections_by_path()
    return sections


def with_sections(stories, sections=None):
    """Attach each story's section without a query per story."""
    stories = list(stories)
    if not stories:
        return stories
    sections = sections if sections is not None else sections_by_path()
    for story in stories:
        section = sections.get(story.path[: -Page.steplen])
        if section is not None:
            story.__dict__["section"] = section
    return stories


def with_card_images(stories):
    """Give each story with a lead image its card's picture as `card_image`, the renditions found with one
    query. Wagtail's `{% image %}` would look each one up in the cache and write it back, card by card."""
    stories = list(stories)
    images = {story.lead_image.pk: story.lead_image for story in stories if story.lead_image is not None}
    spec = StoryPage.CARD_LIST_IMAGE
    found = {pk: [] for pk in images}
    renditions = get_image_model().get_rendition_model().objects.filter(image_id__in=images, filter_spec=spec)
    for rendition in renditions:
        found[rendition.image_id].append(rendition)
    for story in stories:
        image = story.lead_image
        story.card_image = None
        if image is None:
            continue
        image.prefetched_renditions = found[image.pk]
        story.card_image = (image.find_existing_renditions(Filter(spec)).get(Filter(spec))
                            or get_renditions_or_not_found(image, [spec])[spec])
    return stories


def published_stories():
    return StoryPage.objects.live().public().order_by("-first_published_at", "-pk")


def listed_stories():
    """Published stories as lists show them. Lists never show the body, and reading it from the database
    (the StreamField's JSON) is most of what a story object costs to make."""
    return published_stories().defer_streamfields()


def latest_stories(limit=10, exclude=None):
    qs = listed_stories().select_related("lead_image")
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return with_sections(qs[:limit])



_HEADING = re.compile(r"<h([2-6])([^>]*)>(.*?)</h\1>", re.DOTALL)


def even_headings(html, above=1):
    """`html` with no heading more than one level below the one before it (the first below `above`, the
    page's h1): an h3 an editor or an agency put straight after the headline becomes an h2, so assistive
    technology's outline of the page has no gap."""
    level = above

    def step(match):
        nonlocal level
        level = min(int(match.group(1)), level + 1)
        return f"<h{level}{match.group(2)}>{match.group(3)}</h{level}>"

    return _HEADING.sub(step, html)


class StoryAuthor(Orderable):
    story = ParentalKey(StoryPage, related_name="story_authors", on_delete=models.CASCADE)
    author = models.ForeignKey(Author, on_delete=models.PROTECT, related_name="+")

    panels = [FieldPanel("author")]


class Correction(Orderable):
    story = ParentalKey(StoryPage, related_name="corrections", on_delete=models.CASCADE)
    date = models.DateField()
    text = RichTextField(features=["bold", "italic", "link"])

    panels = [FieldPanel("date"), FieldPanel("text")]

    class Meta(Orderable.Meta):
        ordering = ["sort_order", "date"]
