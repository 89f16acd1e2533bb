"""Every address of the site answers a stranger's input with a 4xx, never a 500 (issue #17, finding 5).

The test walks every URL pattern Django knows (ours, our admin pages, Wagtail's admin and site, Django's
admin) and builds an address for each with one path parameter at a time replaced by hostile text: ids past
64 bits, negative and zero ids, non-ASCII and bidi text, 5,000 characters, `../`, `%00`. It asks for each as
an anonymous visitor and as a superuser, and asks again for each plausible address with hostile query
strings. Our own views also get a POST with an empty body, and our forms hostile field values.

Every 500 is collected, and all of them are reported together, each with its method and address.

Our patterns and every public one get every hostile value; Wagtail's and Django's admin pages get a sample,
rotating through the list so that each value reaches many of them: about 1,700 requests in all, some ten
seconds on SQLite.
"""

import itertools
import json
import logging
import os
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone
from wagtail.contrib.redirects.models import Redirect
from wagtail.documents.models import Document

from appeals import recording
from appeals.factories import AppealFactory
from images.factories import BylineImageFactory
from stories.factories import AuthorFactory, OriginFactory, StoryPageFactory
from tracking.factories import CopyFactory, hit
from verify.factories import ManualCopyFactory, VerificationFactory
from verify.models import Verification
from wire.factories import AgencyTokenFactory

pytestmark = pytest.mark.django_db

HOSTILE_SEGMENTS = [
    str(2**63),  # the first id past a bigint column
    str(2**64),
    str(10**30),
    "-1",
    "0",
    "é",
    "日本",
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "9" * 5000,  # past Python's 4,300-digit limit for int()
    "x" * 5000,
    "../",
    "%00",
]
HOSTILE_QUERIES = [
    "page=abc",
    "page=-1",
    f"page={10**30}",
    "p=abc",  # Wagtail's listings page with ?p=
    f"p={10**30}",
    "from=9999-99-99",
    "id=%00",
]
HOSTILE_FORM_VALUES = ["abc", str(2**64), str(10**30), "-1", "0", "", "é", "\x00", "9" * 5000]
WIRE_ITEM = {
    "uri": "urn:bay-agency:1", "type": "text", "headlines": [{"role": "main", "value": "Ferry strike ends"}],
    "bodies": [{"role": "main", "contenttype": "text/plain", "value": "Crews return on Monday."}],
}

OUR_MODULES = ("appeals.", "byline.", "jobs.", "republish.", "stories.", "tracking.", "verify.", "wire.")
SKIPPED = {
    # Wagtail's "does error reporting work?" page: a superuser's 500 there is its whole purpose.
    "wagtail.admin.views.home.error_test",
}
# 500s we know of whose fix is outside this test's reach: (regex the request matches, where the fault is).
# A request reads "<who> GET <address>" or "<who> POST <address> <body>". An entry the walk tried without
# a 500 fails the test, so that the list only ever shrinks: empty it as the fixes land.
KNOWN_500S = []

# BYLINE_EVERY_HOSTILE_VALUE=1 tries every value on Wagtail's and Django's patterns too (some 3,700 requests):
# worth a run after upgrading either.
EVERY_VALUE = bool(os.environ.get("BYLINE_EVERY_HOSTILE_VALUE"))

PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def walk(resolver, prefix=()):
    """Every URL pattern under `resolver`, as the chain of patterns leading to it."""
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern, (*prefix, pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield (*prefix, pattern.pattern), pattern


def route_parts(route, converters):
    """A path() route as literal text and parameters, each parameter as (name, its regex)."""
    parts, position = [], 0
    for match in PARAMETER.finditer(route):
        parts += [route[position:match.start()], (match["name"], converters[match["name"]].regex)]
        position = match.end()
    return [*parts, route[position:]]


def closing(regex, start):
    """The index of the parenthesis closing the group opened at `start`."""
    depth, index = 0, start
    while True:
        character = regex[index]
        if character == "\\":
            index += 2
            continue
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth == 0:
            return index
        index += 1


def regex_parts(regex):
    """A re_path() regex as literal text and parameters: its groups and its `.*`."""
    regex = regex.removeprefix("^").removesuffix("$")
    parts, index = [], 0
    while index < len(regex):
        character = regex[index]
        if character == "\\":
            parts.append(regex[index + 1])
            index += 2
        elif character == "(":
            end = closing(regex, index)
            group = regex[index + 1:end]
            named = re.match(r"\?P<(\w+)>", group)
            parts.append((named[1], group[named.end():]) if named else (f"group{index}", group))
            index = end + 1
        elif regex.startswith(".*", index):
            parts.append((f"any{index}", ".*"))
            index += 2
        else:
            parts.append(character)
            index += 1
    return parts


def address_template(chain):
    parts = []
    for pattern in chain:
        if isinstance(pattern, RoutePattern):
            parts += route_parts(str(pattern), pattern.converters)
        else:
            assert isinstance(pattern, RegexPattern), pattern
            parts += regex_parts(str(pattern))
    return parts


def build(parts, values):
    """The address with each parameter given its value in `values` (already URL text)."""
    return "/" + "".join(part if isinstance(part, str) else values[part[0]] for part in parts)


def in_url(value):
    # `%00` and `../` travel as typed; anything else is percent-encoded, as a browser would send it.
    return quote(value, safe="/%.")


def plausible(regex, story):
    """A value the parameter's regex accepts: our story's id where a number goes."""
    for candidate in (str(story.pk), "news", "news/", "live", "latest", "stories", ""):
        if re.fullmatch(regex, candidate):
            return candidate
    return "news"


def rotating(values, count, offset):
    return [values[(offset + n) % len(values)] for n in range(min(count, len(values)))]


class Walker:
    def __init__(self, story):
        self.story = story
        self.failures, self.asked = [], []
        self.offset = itertools.count()

    def ask(self, client, method, address, query="", data=None):
        url = f"{address}?{query}" if query else address
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data if data is not None else "", content_type=(
                "application/x-www-form-urlencoded"))
        request = f"{client.who} GET {url}" if method == "GET" else f"{client.who} POST {address} {data or ''}"
        self.asked.append(request)
        if response.status_code == 500:
            cause = repr(response.exc_info[1])[:200] if response.exc_info else ""
            self.failures.append((request, cause))
        return response

    def addresses(self, parts, values_per_parameter):
        """The plausible address, then hostile ones: one parameter at a time."""
        parameters = [part for part in parts if not isinstance(part, str)]
        good = {name: plausible(regex, self.story) for name, regex in parameters}
        hostile = []
        for name, _ in parameters:
            values = rotating(HOSTILE_SEGMENTS, values_per_parameter, next(self.offset))
            hostile += [build(parts, {**good, name: in_url(value)}) for value in values]
        return build(parts, good), hostile

    def visit(self, client, chain, pattern, editor):
        if pattern.lookup_str in SKIPPED:
            return
        ours = pattern.lookup_str.startswith(OUR_MODULES)
        parts = address_template(chain)
        if str(chain[0]) in ("admin/", "django-admin/") and not editor:
            # A stranger is sent to the login page before any parameter is read: one look is enough.
            good, _ = self.addresses(parts, 0)
            self.ask(client, "GET", good)
            if ours:
                self.ask(client, "POST", good)
            return
        # Wagtail's and Django's public addresses get every value too: strangers reach them.
        every = ours or EVERY_VALUE or str(chain[0]) not in ("admin/", "django-admin/")
        good, hostile = self.addresses(parts, len(HOSTILE_SEGMENTS) if every else 1)
        for address in [good, *hostile]:
            self.ask(client, "GET", address)
        if ours:
            for address in [good, *rotating(hostile, 3, next(self.offset))]:
                self.ask(client, "POST", address)
        # Query strings are read by list pages, which have no parameters; our pages all get all of them.
        if ours or all(isinstance(part, str) for part in parts):
            for query in HOSTILE_QUERIES if ours else rotating(HOSTILE_QUERIES, 1, next(self.offset)):
                self.ask(client, "GET", good, query)


@pytest.fixture
def everything(site, news, django_user_model):
    """One object of every kind the admin lists, around one published story with a picture."""
    image = BylineImageFactory()
    origin = OriginFactory(name="Bay Agency")
    story = StoryPageFactory(parent=news, lead_image=image, origin=origin, authors=[AuthorFactory()])
    story.save_revision().publish()
    Document.objects.create(title="Budget", file=ContentFile(b"%PDF-1.4\n", name="budget.pdf"))
    AppealFactory(sections=[news])
    Redirect.objects.create(old_path="/old-harbor", redirect_page=story)
    now = timezone.now()
    copy = CopyFactory(story=story, url="https://gazette.example/harbor", seen_at=now)
    hit(story, now - timedelta(hours=1), copy=copy.url)
    manual = ManualCopyFactory(story=story, url="https://scraper.example/harbor")
    VerificationFactory(copy=copy, status=Verification.COMPLIANT, checked_at=now)
    VerificationFactory(manual=manual, status=Verification.ISSUES, checked_at=now, failing=["pixel"])
    token = AgencyTokenFactory(origin=origin, name="Bay Agency feed")
    pushed = Client().post("/api/wire/ninjs", json.dumps(WIRE_ITEM), content_type="application/json",
                           headers={"Authorization": f"Bearer {token.secret}"})
    assert pushed.status_code == 201, pushed.content
    editor = django_user_model.objects.create_superuser("editor", "editor@example.org", "pw")
    return {"story": story, "editor": editor, "token": token}


def anonymous_and_editor(editor):
    anonymous = Client(raise_request_exception=False)
    signed_in = Client(raise_request_exception=False)
    signed_in.force_login(editor)
    anonymous.who, signed_in.who = "anonymous", "editor"
    return [(anonymous, False), (signed_in, True)]


def known(request):
    return next((entry for entry in KNOWN_500S if re.fullmatch(entry[0], request, re.DOTALL)), None)


def verdict(walker):
    """What the walk found that the known list does not explain, and the known 500s it no longer found."""
    new = [(request, cause) for request, cause in walker.failures if known(request) is None]
    still = {known(request) for request, _ in walker.failures}
    tried = {known(request) for request in walker.asked} - {None}
    report = f"{len(new)} answers of 500:\n" + "\n".join(
        f"  {request[:200]}  <- {cause}" for request, cause in new)
    fixed = "fixed, take off KNOWN_500S: " + "; ".join(entry[1] for entry in tried - still)
    return (new, report), (tried - still, fixed)


class InlineRecorder:
    """Writes each appeal event in the calling thread, inside the test's transaction (the real recorder's
    thread has a database connection of its own, which cannot see the test's data and answers 503)."""

    def record(self, row, timeout=None):
        recording.write_events([row])
        return True


@pytest.fixture(autouse=True)
def inline_recorder(monkeypatch):
    monkeypatch.setattr(recording, "recorder", InlineRecorder())


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    # Thousands of 404s would bury the report; each 500 keeps its exception in the report instead.
    for name in ("django.request", "django.security", "tracking", "wire", "verify", "appeals", "republish"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", True)


@pytest.mark.parametrize("address", ["/republish/{}/", "/republish/{}.json", "/api/ninjs/{}",
                                     "/admin/readers/stories/{}/", "/admin/copies/stories/{}/",
                                     "/admin/copies/checks/{}/"])
def test_an_id_that_no_row_can_have_is_not_found_before_any_view_runs(everything, address):
    client = Client(raise_request_exception=False)
    client.force_login(everything["editor"])
    # (Without a trailing slash, the miss is first redirected to the address with one: then not found.)
    for story_id in [2**63, 2**64, 10**30, 0, "9" * 5000]:
        response = client.get(address.format(story_id), follow=True)
        assert response.status_code == 404, address.format(story_id)[:60]
    assert client.get(address.format(2**63 - 1)).status_code == 404


def test_no_address_answers_500_to_hostile_path_parameters_or_query_strings(everything):
    walker = Walker(everything["story"])
    patterns = list(walk(get_resolver()))
    assert len(patterns) > 250, "the walk missed Wagtail's admin"
    for client, editor in anonymous_and_editor(everything["editor"]):
        for chain, pattern in patterns:
            walker.visit(client, chain, pattern, editor)
    assert len(walker.asked) < 2000 or EVERY_VALUE
    (new, report), (fixed, says) = verdict(walker)
    assert not new, report
    assert not fixed, says


def test_the_wire_desk_answers_a_hostile_token_to_revoke_with_a_4xx(everything):
    walker = Walker(everything["story"])
    for value in HOSTILE_FORM_VALUES:
        for client, _ in anonymous_and_editor(everything["editor"]):
            walker.ask(client, "POST", "/admin/wire/", data=f"revoke={quote(value)}")
    (new, report), (fixed, says) = verdict(walker)
    assert not new, report
    assert not fixed, says
    everything["token"].refresh_from_db()
    assert everything["token"].is_active


@pytest.mark.parametrize("field", ["name", "origin"])
def test_the_wire_desk_answers_a_hostile_new_token_with_the_form_again(everything, field):
    walker = Walker(everything["story"])
    for value in HOSTILE_FORM_VALUES:
        fields = {"name": "Feed", "origin": str(everything["token"].origin_id), field: value}
        body = "&".join(f"{key}={quote(text)}" for key, text in fields.items())
        for client, editor in anonymous_and_editor(everything["editor"]):
            response = walker.ask(client, "POST", "/admin/wire/", data=body)
            assert response.status_code in ((200, 302) if editor else (302,)), body[:80]
    (new, report), _ = verdict(walker)
    assert not new, report


def test_the_admin_apis_find_answers_400_to_an_id_that_is_not_a_number(admin_client, home):
    for bad in ("abc", "%00", "1" * 30, "١"):  # the last: an Arabic-Indic one, a digit to str.isdigit
        response = admin_client.get(f"/admin/api/main/pages/find/?id={bad}")
        assert response.status_code == 400, (bad, response.status_code)
    response = admin_client.get(f"/admin/api/main/pages/find/?id={home.pk}")
    assert response.status_code == 302 and f"/admin/api/main/pages/{home.pk}/" in response["Location"]


def test_a_nul_in_an_address_is_not_found_before_any_view_runs(admin_client, home):
    # PostgreSQL refuses a NUL in any text it compares: Wagtail's admin looked this segment up and answered 500.
    for address in ("/admin/workflows/tasks/add/wagtailcore/%00/", "/admin/pages/%00/", "/news/%00/"):
        assert admin_client.get(address).status_code == 404, address
