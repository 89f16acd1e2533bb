"""A handout pasted into WordPress, read in Chromium on a partner site, is counted on the page's full address.

The partner site runs on loopback on a port of its own, so the pixel (on our host) is cross-origin and
Chromium's default referrer policy sends only the partner's origin unless the pixel's own `referrerpolicy`
attribute survived. The pixel request Chromium makes is taken as it left the browser (its path, Referer and
User-Agent) and handed to our pixel endpoint; then the counting job and the search for copies run.
"""

import json
from datetime import timedelta
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from republish.tests.wordpress import save_as, wordpress_page
from tracking.counting import count_all_new_hits
from tracking.models import Copy, Hit
from tracking.tests.helpers import BROWSER, inline_pixel, request
from verify.discover import discover_copies

from .test_discover import COPY_PATH, wordpress_sitemaps

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("verify_settings")]

GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


@pytest.fixture
def reader_page(chromium):
    """Chromium as a reader's: headless Chromium names itself HeadlessChrome, which the pixel filters as a bot."""
    context = chromium.new_context(user_agent=BROWSER)
    yield context.new_page()
    context.close()


def read_in_chromium(page, url):
    """Open `url` and return the pixel requests the page made, as (path, headers) the browser sent."""
    sent = []

    def pixel(route):
        sent.append((urlsplit(route.request.url).path, route.request.all_headers()))
        route.fulfill(status=200, content_type="image/gif", body=GIF)

    page.route("**/pixel/**", pixel)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(200)
    return sent


@pytest.mark.parametrize("role, referrer", [("author", "origin only"), ("administrator", "full address")])
def test_a_handout_pasted_into_wordpress_is_counted_on_the_page_s_full_address(
        role, referrer, partner, story, handout, reader_page, tmp_path):
    permalink = partner.url(COPY_PATH)
    content = save_as(role, handout.html, "custom-html")
    partner.html(COPY_PATH, wordpress_page(story.title, content, permalink))
    wordpress_sitemaps(partner, [COPY_PATH])

    sent = read_in_chromium(reader_page, permalink)

    assert len(sent) == 1, "the pixel survived WordPress and Chromium loaded it once"
    path, headers = sent[0]
    pixel_app = inline_pixel("wsgi", tmp_path)
    response = request(pixel_app, path, referer=headers.get("referer"), user_agent=headers["user-agent"])
    assert response.status_code == 200
    hit = Hit.objects.get()
    assert hit.filtered == ""
    if referrer == "origin only":
        assert hit.copy == partner.url("").rstrip("/")  # what Chromium sent once kses took referrerpolicy
    else:
        assert hit.copy == permalink
    count_all_new_hits(now=timezone.now() + timedelta(minutes=1))

    discover_copies(story.pk)

    out = StringIO()
    call_command("republication_report", story=story.pk, as_json=True, stdout=out)
    (row,) = json.loads(out.getvalue())[0]["copies"]
    assert row["copy"] == permalink
    assert row["found_by_byline"] is (referrer == "origin only")
    assert (row["views"], row["readers"]) == (1, 1)
    if referrer == "origin only":
        assert Copy.objects.get().found_status == Copy.FOUND
