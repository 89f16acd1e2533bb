"""Factories for appeals: the site's support settings, campaigns and section appeals in their versions, and the
hourly counts the Results dashboard reads. Shared by the tests and the demo content loader."""

import factory
from django.utils import timezone
from django.utils.text import slugify

from stories.factories import SiteSettingsFactory

from .models import EVERGREEN, Appeal, AppealVariant, FilteredEvent, SupportSettings, VariantCount


class SupportSettingsFactory(SiteSettingsFactory):
    """Settings → Support with every part switched on and known words: the evergreen appeal, the store promo and
    the free-to-read line."""

    class Meta:
        model = SupportSettings

    appeal_heading = "Keep the Bay Coast informed"
    appeal_message = "<p>Our stories are free because <b>readers</b> pay for them.</p>"
    signature_name = "Miriam Okafor"
    signature_title = "Publisher and CEO"
    button_label = "Donate now"
    button_url = "https://donate.example.org/ledger"
    free_to_read_line = "Free to read, free to republish, thanks to our members."
    store_promo_enabled = True
    store_promo_heading = "Wear the Ledger"
    store_promo_text = "Tote bags and mugs are back in stock."
    store_promo_label = "Visit the shop"
    store_promo_url = "https://shop.example.org/ledger"


def version_fields(appeal_name, n, version):
    """A version's fields from a heading or a dict of fields; a "Give" button to a donation page of its own."""
    fields = {"heading": version} if isinstance(version, str) else dict(version)
    fields.setdefault("button_url", f"https://donate.example.org/{slugify(appeal_name)}/{n}")
    fields.setdefault("button_label", "Give")
    return fields


class AppealFactory(factory.django.DjangoModelFactory):
    """A live appeal: a campaign when it has `starts_at` and `ends_at`, a section appeal for `sections` when it
    has neither. `versions` are headings or dicts of a version's fields, in order (A, B, ...); by default one
    version headed with the appeal's name."""

    class Meta:
        model = Appeal

    name = factory.Sequence(lambda n: f"Appeal {n}")
    live = True
    starts_at = None
    ends_at = None
    sections = ()
    versions = None

    @classmethod
    def _build(cls, model_class, *args, sections=(), versions=None, **fields):
        appeal = model_class(*args, **fields)
        versions = [appeal.name] if versions is None else versions
        appeal.variants = [AppealVariant(sort_order=n, **version_fields(appeal.name, n, version))
                           for n, version in enumerate(versions)]
        appeal.sections = list(sections)
        return appeal

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        appeal = cls._build(model_class, *args, **kwargs)
        appeal.save()  # the appeal, its versions and its sections
        return appeal


class AppealVariantFactory(factory.django.DjangoModelFactory):
    """One more version of `appeal` (an appeal of its own, without other versions, if none is given)."""

    class Meta:
        model = AppealVariant

    appeal = factory.SubFactory(AppealFactory, versions=[])
    heading = factory.Sequence(lambda n: f"Version {n}")
    button_label = "Give"
    button_url = factory.Sequence(lambda n: f"https://donate.example.org/version/{n}")


def this_hour():
    return timezone.now().replace(minute=0, second=0, microsecond=0)


class VariantCountFactory(factory.django.DjangoModelFactory):
    """Views and clicks of one version in one UTC hour, as appeals.counting writes them: of `variant` (and its
    appeal), or of the evergreen appeal of Settings → Support when no variant is given."""

    class Meta:
        model = VariantCount

    class Params:
        variant = None

    variant_id = factory.LazyAttribute(lambda o: o.variant.pk if o.variant else EVERGREEN)
    appeal_id = factory.LazyAttribute(lambda o: o.variant.appeal_id if o.variant else EVERGREEN)
    hour = factory.LazyFunction(this_hour)
    views = 0
    clicks = 0


class FilteredEventFactory(factory.django.DjangoModelFactory):
    """Views or clicks not counted in one UTC hour, for one reason."""

    class Meta:
        model = FilteredEvent

    hour = factory.LazyFunction(this_hour)
    kind = "view"
    reason = "bot"
    events = 1
