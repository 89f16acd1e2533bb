"""Factories for the wire desk: ninjs items as an agency sends them, the items imported, the agencies' push
tokens and the desk's settings. For the tests, and for any demo or script (this is not a test module)."""

import factory

from stories.factories import OriginFactory, SiteSettingsFactory
from stories.models import Origin

from .importer import content_hash
from .models import AgencyToken, WireItem, WireSettings


def text_item(**fields):
    """A ninjs 2.x text item as Harbor Wire sends it: version 1 of urn:example:wire:1, usable, with a headline,
    a summary, an HTML body, two subjects and a byline of two. `fields` replace any of its keys."""
    item = {
        "uri": "urn:example:wire:1",
        "type": "text",
        "version": "1",
        "versioncreated": "2026-11-20T10:00:00Z",
        "firstcreated": "2026-11-20T09:00:00Z",
        "copyrightholder": "Harbor Wire",
        "by": "Ada Quill and Tomas Brand, Harbor Wire",
        "located": "Port Alder, Maine",
        "headlines": [{"role": "main", "value": "Ferry strike ends after nine days"}],
        "descriptions": [{"role": "summary", "value": "Crews return on Monday with a new contract."}],
        "bodies": [{
            "role": "main", "contenttype": "text/html",
            "value": '<p>PORT ALDER, Maine (HW) -- The ferry crews voted to return.</p>'
                     '<p>The vote was <strong>212 to 40</strong>, '
                     '<a href="https://example.org/vote">the union said</a>.</p>',
        }],
        "subjects": [{"name": "Labor"}, {"name": "Transport"}],
    }
    item.update(fields)
    return item


class WireSettingsFactory(SiteSettingsFactory):
    """The wire desk's settings: imported stories wait as drafts in the first section unless told otherwise."""

    class Meta:
        model = WireSettings


class AgencyTokenFactory(factory.django.DjangoModelFactory):
    """An agency's push token, issued as editors issue it (AgencyToken.issue). Its secret, which only exists
    when it is issued, is `token.secret` on the object made."""

    class Meta:
        model = AgencyToken

    origin = factory.SubFactory(OriginFactory, kind=Origin.WIRE)
    name = factory.LazyAttribute(lambda o: f"{o.origin.name} feed")
    created_by = None

    @classmethod
    def _create(cls, model_class, **fields):
        token, secret = model_class.issue(**fields)
        token.secret = secret
        return token


class WireItemFactory(factory.django.DjangoModelFactory):
    """A text item imported from `agency` (a wire service), as the importer records it; pass `story` for the
    story it became."""

    class Meta:
        model = WireItem

    agency = factory.SubFactory(OriginFactory, kind=Origin.WIRE)
    uri = factory.Sequence(lambda n: f"urn:example:wire:{n}")
    kind = WireItem.TEXT
    version = "1"
    pubstatus = "usable"
    content_hash = factory.LazyAttribute(lambda o: content_hash(text_item(uri=o.uri, version=o.version)))
    source = "feed/items.json"
