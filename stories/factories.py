"""Factories for the newsroom's content, shared by the tests and the demo content loader."""

import factory
import wagtail_factories
from django.utils import timezone
from django.utils.text import slugify
from wagtail.models import Site
from wagtail.rich_text import RichText

from byline.sanitize import clean_html

from .models import Author, Correction, HomePage, NewsroomSettings, Origin, SectionPage, StoryAuthor, StoryPage


class SiteSettingsFactory(factory.django.DjangoModelFactory):
    """A site's settings (a BaseSiteSetting): the one row `for_site` reads, with the given fields set and saved.

    `site` defaults to the default site. Settings exist once per site, so a second call changes the same row."""

    class Meta:
        abstract = True

    site = factory.LazyFunction(lambda: Site.objects.get(is_default_site=True))

    @classmethod
    def _create(cls, model_class, site, **fields):
        settings = model_class.for_site(site)  # made with the model's defaults if the site had none
        if fields:
            for name, value in fields.items():
                setattr(settings, name, value)
            settings.save()
        return settings


class NewsroomSettingsFactory(SiteSettingsFactory):
    class Meta:
        model = NewsroomSettings


class OriginFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Origin
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Wire Service {n}")
    short_name = factory.Sequence(lambda n: f"WS{n}")
    kind = Origin.WIRE


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Reporter {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    role = "a staff reporter"
    bio = ""
    email = factory.LazyAttribute(lambda o: f"{o.slug}@newsroom.example")
    social_handle = factory.LazyAttribute(lambda o: o.slug.replace("-", "_"))
    pronoun = "her"


class HomePageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = HomePage

    title = "Home"


class SectionPageFactory(wagtail_factories.PageFactory):
    class Meta:
        model = SectionPage

    title = factory.Sequence(lambda n: f"Section {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.title))


def paragraphs(*htmls):
    """Body blocks from paragraph HTML, cleaned the way every imported body is."""
    return [("paragraph", RichText(clean_html(html))) for html in htmls]


class StoryPageFactory(wagtail_factories.PageFactory):
    """A published story. Pass `authors=[...]` (default: one new author) and `parent=<section>`."""

    class Meta:
        model = StoryPage
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Story number {n}")
    slug = factory.Sequence(lambda n: f"story-{n}")
    dek = "What happened, in one sentence."
    body = factory.LazyFunction(
        lambda: paragraphs(
            '<p>The council voted on Tuesday. <a href="https://example.org/minutes">Read the minutes</a>.</p>',
            "<p>Residents spoke for <b>three hours</b>.</p>",
        )
    )
    first_published_at = factory.LazyFunction(timezone.now)
    last_published_at = factory.SelfAttribute("first_published_at")
    live = True

    @factory.post_generation
    def authors(story, create, extracted, **kwargs):
        if not create:
            return
        for order, author in enumerate(extracted if extracted is not None else [AuthorFactory()]):
            StoryAuthor.objects.create(story=story, author=author, sort_order=order)


class CorrectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Correction

    story = factory.SubFactory(StoryPageFactory)
    date = factory.LazyFunction(lambda: timezone.localdate())
    text = "<p>An earlier version of this story misspelled a name.</p>"
