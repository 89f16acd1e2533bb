"""What strangers send to our three open doors, generated: each answer is one of the few it may be, and
well-formed; never a 500, never an exception out of the application.

- the pixel (`/pixel/...`, answered by tracking.pixel.Pixel before Django, over WSGI and RSGI):
  any path after /pixel/, any query string, any method, any header values: the GIF (200), and nothing else;
- the wire push (`POST /api/wire/ninjs`): any JSON, ninjs-shaped JSON with any values, any bytes, any
  content type, with a valid token, a revoked one, a made-up one and none: a JSON answer with 2xx or 4xx;
- `/republish/<id>.json`: any id, any query string: the offer as JSON (200) or a 404.

Hypothesis runs a bounded, derandomized number of examples: CI stays fast and a failure replays the same.
"""

import json
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from republish.pixel import sign
from stories.factories import StoryPageFactory
from stories.models import Origin
from tracking.pixel import GIF
from tracking.tests.helpers import inline_pixel, request
from wire import pictures
from wire.models import AgencyToken

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# What a WSGI server hands over: the request's bytes, read as Latin-1 (PEP 3333).
wire_text = st.binary(max_size=300).map(lambda raw: raw.decode("latin-1"))
near_ids = st.one_of(st.integers(min_value=-10, max_value=10**40).map(str), st.text(max_size=30),
                     st.sampled_from(["0", "-1", str(2**63 - 1), str(2**63), str(2**64), "9" * 5000, "../", "%00"]))


@pytest.fixture(params=["wsgi", "rsgi"])
def pixel(request, tmp_path):
    return inline_pixel(request.param, tmp_path / "journal")


def pixel_paths():
    """Paths under /pixel/: arbitrary segments, and ours with one part spoiled (a real signature too)."""
    arbitrary = st.lists(wire_text, max_size=5).map(lambda segments: "/pixel/" + "/".join(segments))
    ours = st.builds(lambda story, via, signature, suffix: f"/pixel/{story}/{via}/{signature}{suffix}",
                     near_ids, st.one_of(st.sampled_from(["html", "text", "site", "script", "HTML"]), wire_text),
                     st.one_of(st.just(sign(7)), wire_text), st.sampled_from([".gif", "", ".GIF", ".gif/"]))
    return st.one_of(arbitrary, ours)


headers = st.fixed_dictionaries({}, optional={
    "HTTP_REFERER": wire_text, "HTTP_X_FORWARDED_FOR": wire_text, "HTTP_SEC_PURPOSE": wire_text,
    "HTTP_PURPOSE": wire_text, "HTTP_X_MOZ": wire_text,
})


@FUZZ
@given(path=pixel_paths(), query=wire_text, user_agent=st.one_of(st.just(None), wire_text), headers=headers,
       method=st.sampled_from(["GET", "GET", "HEAD", "POST", "OPTIONS", "DELETE", "get"]))
def test_the_pixel_answers_anything_with_its_gif(pixel, path, query, user_agent, headers, method):
    response = request(pixel, path, method=method, query=query, user_agent=user_agent, headers=headers)
    assert response.status_code == 200, (path, query)
    assert response.header("Content-Type") == "image/gif"
    assert response.body == (b"" if method == "HEAD" else GIF)


@pytest.fixture
def tokens(news):
    agency = Origin.objects.create(name="Bay Agency", short_name="BA", kind=Origin.WIRE)
    _, secret = AgencyToken.issue(name="Bay Agency feed", origin=agency)
    revoked, revoked_secret = AgencyToken.issue(name="Old feed", origin=agency)
    revoked.revoke()
    return {"valid": secret, "revoked": revoked_secret}


@pytest.fixture
def offline(monkeypatch):
    """No picture is fetched: the fuzz must not reach out to the hosts it makes up."""
    def refuse(picture, get=None):
        raise pictures.PictureError("pictures are not fetched in the fuzz test")

    monkeypatch.setattr(pictures, "fetch_picture", refuse)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
# A valid ninjs text item with any text in it, sometimes with a field or two replaced by anything: far enough
# in to reach the importer.
valid_items = st.builds(
    lambda uri, headline, body, html: {
        "uri": "urn:fuzz:" + uri, "type": "text", "headlines": [{"role": "main", "value": headline}],
        "bodies": [{"role": "main", "contenttype": "text/html" if html else "text/plain", "value": body}],
    },
    st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=200),
    st.booleans(),
)
FIELDS = ["uri", "type", "headlines", "bodies", "version", "versioncreated", "firstcreated", "pubstatus", "by",
          "located", "language", "subjects", "descriptions", "associations", "renditions", "copyrightholder"]
ninjs_items = st.builds(lambda item, spoiled: {**item, **spoiled}, valid_items,
                        st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=2))
bodies = st.one_of(
    json_values.map(json.dumps),
    ninjs_items.map(json.dumps),
    st.lists(ninjs_items, min_size=1, max_size=3).map(json.dumps),
    st.binary(max_size=400),
)
PUSH_STATUSES = {200, 201, 400, 401, 403, 413, 415, 422}


@FUZZ
@given(body=bodies, token=st.sampled_from(["valid", "valid", "revoked", "made-up", None]),
       content_type=st.sampled_from(["application/json", "application/ninjs+json", "text/plain",
                                     "application/json; charset=utf-8", "multipart/form-data; boundary=x"]))
def test_the_wire_push_answers_anything_with_json_and_a_2xx_or_4xx(tokens, offline, body, token, content_type):
    secret = {"made-up": "bylw_" + "x" * 43, None: None}.get(token, tokens.get(token))
    client = Client(raise_request_exception=False)
    response = client.post("/api/wire/ninjs", body, content_type=content_type,
                           headers={"Authorization": f"Bearer {secret}"} if secret else {})
    event(f"answered {response.status_code}")  # --hypothesis-show-statistics: how far in the fuzz gets
    assert response.status_code in PUSH_STATUSES, (response.status_code, body[:200])
    assert response["Content-Type"] == "application/json"
    answer = json.loads(response.content)
    assert ("error" in answer) == (response.status_code >= 400 and response.status_code != 422), answer


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news)


@FUZZ
@given(story_id=st.one_of(near_ids, st.just("{story}")), query=wire_text)
def test_the_republish_json_is_the_offer_or_a_404_for_any_id_and_query(story, story_id, query):
    address = "/republish/" + quote(story_id.replace("{story}", str(story.pk)), safe="%") + ".json"
    response = Client(raise_request_exception=False).get(address, QUERY_STRING=query)
    event(f"answered {response.status_code}")
    assert response.status_code in (200, 404), (address, query)
    if response.status_code == 200:
        offer = json.loads(response.content)
        assert offer["eligible"] is True
        assert response["Access-Control-Allow-Origin"] == "*"
