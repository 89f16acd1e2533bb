"""The page cache in front of Django (byline/edge.py), driven through real WSGI calls around Django's handler."""

import io
from wsgiref.util import setup_testing_defaults

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from django.urls import reverse
from wagtail.models import PageViewRestriction

from byline import edge
from byline.edge import PageCache
from stories.factories import StoryPageFactory

pytestmark = pytest.mark.django_db


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def status_code(self):
        return int(self.status.split()[0])

    def header(self, name):
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        assert len(values) <= 1, f"{name} sent {len(values)} times"
        return values[0] if values else None

    @property
    def x_cache(self):
        return self.header("X-Cache")

    @property
    def text(self):
        return self.body.decode()


def call(app, path, *, method="GET", host="testserver", cookie=None, query="", body=b""):
    """One request through a WSGI app as a WSGI server makes it: environ in, start_response, iterate, close."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "HTTP_HOST": host}
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    if body:
        environ.update(CONTENT_TYPE="application/x-www-form-urlencoded", CONTENT_LENGTH=str(len(body)))
        environ["wsgi.input"] = io.BytesIO(body)
    setup_testing_defaults(environ)
    started = []

    def start_response(status, headers, exc_info=None):
        started.append((status, list(headers)))
        return lambda data: None

    # As Django's test client does: a request's end must not close the connection holding the test's data.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    assert len(started) == 1, "start_response must be called exactly once"
    return Response(*started[0], content)


class Django:
    """Django's own WSGI handler, counting the requests that reach it."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


def with_headers(app, **replace):
    """A WSGI layer that changes Django's response headers, e.g. a page that sets a cookie or turns private."""
    replace = {name.replace("_", "-"): value for name, value in replace.items()}

    def wrapped(environ, start_response):
        def changed(status, headers, exc_info=None):
            headers = [(n, v) for n, v in headers if n.lower() not in {k.lower() for k in replace}]
            return start_response(status, headers + list(replace.items()), exc_info)

        return app(environ, changed)

    return wrapped


@pytest.fixture
def django_app():
    return Django()


@pytest.fixture
def edge_app(django_app):
    return PageCache(django_app, local_seconds=0)


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news, title="Council passes the budget", slug="council-passes-the-budget")


URL = "/news/council-passes-the-budget/"


def test_public_story_is_a_miss_then_a_hit_without_entering_django(edge_app, django_app, story):
    first = call(edge_app, URL)
    assert first.status_code == 200 and first.x_cache == "MISS"
    assert "Council passes the budget" in first.text
    assert django_app.calls == 1

    second = call(edge_app, URL)
    assert second.status_code == 200 and second.x_cache == "HIT"
    assert django_app.calls == 1
    assert second.body == first.body
    assert second.header("Content-Type") == first.header("Content-Type")
    assert second.header("Content-Length") == str(len(first.body))
    assert "public" in second.header("Cache-Control")


def test_each_worker_answers_from_its_own_copy_without_asking_the_shared_cache(django_app, story):
    app = PageCache(django_app, local_seconds=60)
    call(app, URL)
    cache.clear()  # the shared cache forgets; this worker's copy still answers
    assert call(app, URL).x_cache == "HIT"
    assert django_app.calls == 1


def test_a_second_worker_is_served_from_the_shared_cache(django_app, story):
    call(PageCache(django_app, local_seconds=0), URL)
    other_worker = PageCache(django_app, local_seconds=0)
    assert call(other_worker, URL).x_cache == "HIT"
    assert django_app.calls == 1


def test_query_parameters_that_do_not_change_the_page_get_the_cached_page(edge_app, django_app, story):
    call(edge_app, URL)
    assert call(edge_app, URL, query="utm_source=newsletter").x_cache == "HIT"
    assert call(edge_app, URL, query="fbclid=abc&utm_medium=email").x_cache == "HIT"
    assert django_app.calls == 1


def shared_cache_size():
    return len(cache._cache)  # the test settings' LocMemCache


def test_ten_thousand_distinct_query_strings_leave_the_cache_size_unchanged(story):
    django_app = Django()
    edge_app = PageCache(django_app, local_seconds=60)
    assert call(edge_app, URL).x_cache == "MISS"
    size, local_size = shared_cache_size(), len(edge_app.local)
    for n in range(10_000):
        assert call(edge_app, URL, query=f"x={n}").x_cache == "HIT"
    assert (shared_cache_size(), len(edge_app.local)) == (size, local_size)
    assert django_app.calls == 1


def test_ignored_parameters_on_a_cold_cache_fill_it_with_the_page_rendered_without_them(story):
    seen = []

    def reflecting_app(environ, start_response):
        seen.append(environ["QUERY_STRING"])
        start_response("200 OK", [("Content-Type", "text/plain"), ("Cache-Control", "public, s-maxage=300")])
        return [f"query={environ['QUERY_STRING']}".encode()]

    app = PageCache(reflecting_app, local_seconds=0)
    first = call(app, URL, query="utm_source=%3Cscript%3E&page=2")
    assert first.x_cache == "MISS" and first.text == "query=page=2"
    assert call(app, URL, query="page=2").text == "query=page=2"
    assert call(app, URL, query="page=2").x_cache == "HIT"
    assert call(app, URL, query="utm_source=other").text == "query="
    assert seen == ["utm_source=%3Cscript%3E&page=2", "page=2", "utm_source=other", ""]


def test_uncacheable_answers_see_the_query_string_as_sent(edge_app, django_app, site):
    response = call(edge_app, "/admin/login/", query="next=/admin/pages/")
    assert response.x_cache == "MISS" and "/admin/pages/" in response.text


@pytest.fixture
def many_stories(news):
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now() - timedelta(days=30)
    return [StoryPageFactory(parent=news, title=f"Story number {n}", first_published_at=start + timedelta(hours=n))
            for n in range(25)]


def test_pagination_is_cached_per_page(edge_app, django_app, many_stories):
    first = call(edge_app, "/news/")
    second = call(edge_app, "/news/", query="page=2&utm_source=x")
    assert "Page 1 of 2" in first.text and "Story number 24" in first.text
    assert "Page 2 of 2" in second.text and "Story number 0<" in second.text and "Story number 24" not in second.text
    assert call(edge_app, "/news/", query="page=2").body == second.body
    assert call(edge_app, "/news/", query="utm_source=y&page=02").x_cache == "HIT"
    assert call(edge_app, "/news/", query="page=1").body == first.body
    assert call(edge_app, "/news/", query="page=abc").x_cache == "HIT"
    assert django_app.calls == 3  # page 1, page 2 as asked, page 2 without utm_source


@pytest.mark.parametrize("query,normalized", [
    ("", ""), ("utm_source=x", ""), ("page=2", "page=2"), ("page=002&x=1", "page=2"), ("page=1", ""),
    ("page=0", ""), ("page=-3", ""), ("page=2&page=3", "page=3"), ("page=2&page=zz", ""),
    ("page=10000", "page=10000"), ("page=10001", ""), ("page=99999999999", ""), ("Page=2", ""),
])
def test_the_cache_key_keeps_only_parameters_that_change_the_page(query, normalized):
    assert edge._normalized_query(query) == normalized


def test_request_with_a_session_cookie_goes_to_django(edge_app, django_app, story):
    call(edge_app, URL)
    response = call(edge_app, URL, cookie="sessionid=abc123")
    assert response.status_code == 200
    assert response.x_cache is None
    assert django_app.calls == 2


def test_other_cookies_do_not_bypass_the_cache(edge_app, django_app, story):
    call(edge_app, URL)
    assert call(edge_app, URL, cookie="theme=dark; csrftoken=xyz").x_cache == "HIT"
    assert django_app.calls == 1


@pytest.fixture
def editor_cookie(client):
    editor = get_user_model().objects.create_superuser("editor", "editor@newsroom.example", "pw")
    client.force_login(editor)
    return f"sessionid={client.cookies['sessionid'].value}"


def test_logged_in_editor_gets_a_private_page_that_is_never_stored(edge_app, django_app, story, editor_cookie):
    editor_view = call(edge_app, URL, cookie=editor_cookie)
    assert editor_view.x_cache is None
    assert "private" in editor_view.header("Cache-Control")
    reader_view = call(edge_app, URL)
    assert reader_view.x_cache == "MISS"
    assert "public" in reader_view.header("Cache-Control")
    assert django_app.calls == 2


def test_session_cookie_after_a_cookie_simplecookie_cannot_parse_still_bypasses(
    edge_app, django_app, story, editor_cookie
):
    call(edge_app, URL)
    response = call(edge_app, URL, cookie=f'consent={{"ads":false}}; {editor_cookie}')
    assert response.x_cache is None
    assert "private" in response.header("Cache-Control")
    assert django_app.calls == 2


def test_editor_page_is_never_stored_even_when_the_session_cookie_is_missed(edge_app, django_app, story, editor_cookie):
    """Whatever the edge makes of the Cookie header, Django's private answer to an editor is not kept for readers."""
    editor_view = call(edge_app, URL, cookie=f'consent={{"ads":false}}; {editor_cookie}')
    assert "private" in editor_view.header("Cache-Control")
    assert call(edge_app, URL).x_cache == "MISS"
    assert django_app.calls == 2


def test_password_protected_story_is_never_stored_even_once_a_reader_unlocked_it(client, edge_app, django_app, story):
    restriction = PageViewRestriction.objects.create(page=story, restriction_type="password", password="letmein")
    client.post(reverse("wagtailcore_authenticate_with_password", args=[restriction.id, story.id]),
                {"password": "letmein", "return_url": URL})
    unlocked = f'consent={{"ads":false}}; sessionid={client.cookies["sessionid"].value}'

    reader_with_password = call(edge_app, URL, cookie=unlocked)
    assert "Council passes the budget" in reader_with_password.text
    anyone = call(edge_app, URL)
    assert anyone.x_cache == "MISS"
    assert "Council passes the budget" not in anyone.text
    assert call(edge_app, URL).x_cache == "MISS"


def test_post_goes_to_django_and_leaves_the_cached_page_alone(edge_app, django_app, story):
    call(edge_app, URL)
    posted = call(edge_app, URL, method="POST", body=b"name=value")
    assert posted.x_cache is None
    assert django_app.calls == 2
    assert call(edge_app, URL).x_cache == "HIT"
    assert django_app.calls == 2


@pytest.mark.parametrize("method", ["PUT", "DELETE", "OPTIONS"])
def test_other_methods_go_to_django(edge_app, django_app, story, method):
    call(edge_app, URL)
    assert call(edge_app, URL, method=method).x_cache is None
    assert django_app.calls == 2


def test_response_setting_a_cookie_is_never_stored(django_app, story):
    app = PageCache(with_headers(django_app, Set_Cookie="tracking=1; Path=/"), local_seconds=0)
    first, second = call(app, URL), call(app, URL)
    assert first.x_cache == second.x_cache == "MISS"
    assert second.header("Set-Cookie") == "tracking=1; Path=/"
    assert django_app.calls == 2
    assert cache.get(edge._key(URL)) is None


@pytest.mark.parametrize("cache_control", [
    "private, max-age=60", "public, private, s-maxage=300", "no-store", "public, no-store, s-maxage=300",
    "max-age=60", "public, s-maxage=0",
])
def test_response_that_is_not_public_and_storable_is_never_stored(django_app, story, cache_control):
    app = PageCache(with_headers(django_app, Cache_Control=cache_control), local_seconds=0)
    assert call(app, URL).x_cache == "MISS"
    assert call(app, URL).x_cache == "MISS"
    assert django_app.calls == 2
    assert cache.get(edge._key(URL)) is None


def test_admin_login_page_sets_a_cookie_and_is_never_stored(edge_app, django_app, site):
    first = call(edge_app, "/admin/login/")
    assert first.status_code == 200 and first.header("Set-Cookie")
    assert call(edge_app, "/admin/login/").x_cache == "MISS"
    assert django_app.calls == 2


def test_not_found_is_never_stored(edge_app, django_app, news):
    assert call(edge_app, "/news/no-such-story/").status_code == 404
    assert call(edge_app, "/news/no-such-story/").x_cache == "MISS"
    assert django_app.calls == 2


def test_only_known_headers_are_replayed_from_the_cache(django_app, story):
    """Headers outside the stored list (anything per-request, cookies above all) never reach other readers."""
    app = PageCache(with_headers(django_app, X_Debug_Token="secret"), local_seconds=0)
    call(app, URL)
    hit = call(app, URL)
    assert hit.x_cache == "HIT"
    assert hit.header("X-Debug-Token") is None
    assert hit.header("Set-Cookie") is None


def test_publishing_again_purges_the_story_so_readers_see_the_new_title(edge_app, django_app, story):
    call(edge_app, URL)
    assert call(edge_app, URL).x_cache == "HIT"

    story.title = "Council passes the amended budget"
    story.save_revision().publish()

    response = call(edge_app, URL)
    assert response.x_cache == "MISS"
    assert "Council passes the amended budget" in response.text
    assert django_app.calls == 2
    assert call(edge_app, URL).x_cache == "HIT"


def test_publishing_a_story_purges_its_section_and_the_home_page(edge_app, django_app, story):
    for path in ("/", "/news/"):
        call(edge_app, path)
        assert call(edge_app, path).x_cache == "HIT"

    story.title = "Council passes the amended budget"
    story.save_revision().publish()

    for path in ("/", "/news/"):
        response = call(edge_app, path)
        assert response.x_cache == "MISS"
        assert "Council passes the amended budget" in response.text


def test_purge_reaches_query_string_variants(edge_app, story):
    call(edge_app, URL, query="page=2")
    assert call(edge_app, URL, query="page=2").x_cache == "HIT"
    story.save_revision().publish()
    assert call(edge_app, URL, query="page=2").x_cache == "MISS"


def test_unpublishing_purges_the_story(edge_app, story):
    call(edge_app, URL)
    story.unpublish()
    response = call(edge_app, URL)
    assert response.status_code == 404 and response.x_cache == "MISS"


def test_worker_copy_outlives_a_purge_for_at_most_its_local_seconds(django_app, story, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(edge.time, "monotonic", lambda: clock[0])
    app = PageCache(django_app, local_seconds=5)
    call(app, URL)
    story.title = "Council passes the amended budget"
    story.save_revision().publish()

    clock[0] += 4
    stale = call(app, URL)
    assert stale.x_cache == "HIT" and "Council passes the budget" in stale.text

    clock[0] += 2
    fresh = call(app, URL)
    assert fresh.x_cache == "MISS" and "Council passes the amended budget" in fresh.text


def test_head_is_answered_from_the_cache_with_headers_and_no_body(edge_app, django_app, story):
    page = call(edge_app, URL)
    head = call(edge_app, URL, method="HEAD")
    assert head.status_code == 200 and head.x_cache == "HIT"
    assert head.body == b""
    assert head.header("Content-Length") == str(len(page.body))
    assert head.header("Content-Type").startswith("text/html")
    assert django_app.calls == 1


def test_head_on_a_cold_cache_has_no_body_and_does_not_fill_the_cache(edge_app, django_app, story):
    head = call(edge_app, URL, method="HEAD")
    assert head.status_code == 200 and head.x_cache == "MISS"
    assert head.body == b""
    page = call(edge_app, URL)
    assert page.x_cache == "MISS" and "Council passes the budget" in page.text
    assert call(edge_app, URL).body == page.body


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_disallowed_host_is_never_served_from_the_cache(edge_app, django_app, story):
    call(edge_app, URL)
    assert call(edge_app, URL).x_cache == "HIT"

    response = call(edge_app, URL, host="attacker.example")
    assert response.status_code == 400
    assert response.x_cache is None
    assert django_app.calls == 2


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_allowed_host_with_a_port_is_served_from_the_cache(edge_app, django_app, story):
    call(edge_app, URL)
    assert call(edge_app, URL, host="testserver:80").x_cache == "HIT"


@override_settings(ALLOWED_HOSTS=["testserver"])
def test_missing_host_is_never_served_from_the_cache(edge_app, django_app, story):
    call(edge_app, URL)
    assert call(edge_app, URL, host="").x_cache is None
    assert django_app.calls == 2


def test_editing_an_author_or_the_republishing_policy_purges_every_page(edge_app, django_app, story):
    from republish.models import RepublishingPolicy

    author = story.authors[0]
    call(edge_app, URL)
    author.bio = "Covers the council and its budget."
    author.save()
    response = call(edge_app, URL)
    assert response.x_cache == "MISS" and "Covers the council and its budget." in response.text

    assert call(edge_app, URL).x_cache == "HIT"
    policy = RepublishingPolicy.for_site(story.get_site())
    policy.license = "cc-by-4.0"
    policy.save()
    assert call(edge_app, URL).x_cache == "MISS"


def test_a_new_author_or_picture_leaves_cached_pages_alone(edge_app, django_app, story):
    from stories.factories import AuthorFactory

    call(edge_app, URL)
    AuthorFactory()
    assert call(edge_app, URL).x_cache == "HIT"


def test_a_cached_json_handout_keeps_its_cors_header(edge_app, django_app, story):
    path = f"/republish/{story.pk}.json"
    first = call(edge_app, path)
    assert first.header("Access-Control-Allow-Origin") == "*"
    second = call(edge_app, path)
    assert second.x_cache == "HIT" and second.header("Access-Control-Allow-Origin") == "*"
