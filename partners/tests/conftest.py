"""Fixtures for partners' feeds and pages: a policy, a newsroom, two partners with keys, and readers of
what the feeds return (feedparser for Atom, IPTC's ninjs 2.2 schema for ninjs)."""

import json
import re

import feedparser
import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from partners import feeds
from partners.models import Partner, PartnerSite
from republish.factories import RepublishingPolicyFactory
from stories.factories import StoryPageFactory
from wire.tests.conftest import SCHEMAS


@pytest.fixture(autouse=True)
def fresh_feeds():
    """Each test builds its feeds anew: the process keeps the last build it read (the cache is emptied by the
    root conftest, which replaces the token, but a test may run in the same second with the same ids)."""
    feeds.forget_process_copy()
    yield
    feeds.forget_process_copy()


@pytest.fixture
def policy(site):
    return RepublishingPolicyFactory(site=site)


@pytest.fixture
def story(news, newsroom, policy):
    return StoryPageFactory(parent=news, title="Harbor cleanup begins", slug="harbor-cleanup",
                            dek="Crews start on the east pier.")


def make_partner(name, *hosts):
    partner = Partner.objects.create(name=name)
    for host in hosts:
        PartnerSite.objects.create(partner=partner, host=host)
    partner.key = partner.issue_key()
    return partner


@pytest.fixture
def gazette(site):
    return make_partner("Harbor Gazette", "gazette.example")


@pytest.fixture
def courier(site):
    return make_partner("Cape Courier", "courier.example")


# ---- reading the feeds

def atom(client, partner, expect=200):
    response = client.get(f"/partners/{partner.key}/atom/")
    assert response.status_code == expect, response.content[:500]
    parsed = feedparser.parse(response.content, sanitize_html=False)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def ninjs(client, partner, since=None):
    query = {"since": since} if since is not None else {}
    response = client.get(f"/partners/{partner.key}/ninjs/", query)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/json"
    items = response.json()
    for item in items:
        assert schema_errors(item) == [], item
    return items


_SCHEMA = json.loads((SCHEMAS / "ninjs-schema_2.2.json").read_text())


def schema_errors(item):
    # The schema points at GeoJSON's schema on the web for place geometry: nothing is fetched in tests.
    registry = Registry(retrieve=lambda uri: DRAFT202012.create_resource({}))
    validator = jsonschema.Draft202012Validator(
        _SCHEMA, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(item)]


def body(item, contenttype, role="main"):
    return next(b["value"] for b in item["bodies"] if b["contenttype"] == contenttype and b.get("role") == role)


_PIXEL_SRC = re.compile(r'src="https?://[^/"]+(/pixel/[^"]+)"')


def pixel_paths(html):
    return _PIXEL_SRC.findall(html)
