"""Finding a copy's full address when readers' browsers sent only the partner's site.

The partner sites run on loopback; each serves its copy of the story among other posts, listed the way
WordPress lists them (its sitemap index and RSS feed) or not at all. Hits name only the site's origin, as
Chromium sends it when the pixel's referrer policy was filtered out.
"""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tracking.counting import count_all_new_hits
from tracking.factories import hit
from tracking.models import Copy
from verify.discover import MAX_DOCUMENTS, discover_copies, origin_only_copies
from verify.models import Verification

from .conftest import partner_page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("verify_settings")]

COPY_PATH = "/2026/05/council-passes-the-harbor-budget/"
OTHER_POSTS = [("/2026/05/ferry-fares-rise/", "Ferry fares rise again this summer"),
               ("/2026/04/school-board-four-day-week/", "School board weighs a four-day week"),
               ("/2026/04/harbor-festival-returns/", "Harbor festival returns with boat parade")]


def other_post(title):
    return partner_page(None, head="", article=f"<h1>{title}</h1><p>{title}, the partner's own reporting, "
                                               "told at some length by its own staff.</p>", title=title)


def serve_posts(partner, handout, copy_path=COPY_PATH):
    partner.html(copy_path, partner_page(handout))
    for path, title in OTHER_POSTS:
        partner.html(path, other_post(title))


def xml(partner, path, body, content_type="application/xml; charset=UTF-8"):
    partner.pages[path] = (200, {"Content-Type": content_type}, body)


def wordpress_sitemaps(partner, paths):
    """WordPress's own sitemaps: an index at /wp-sitemap.xml leading to one sitemap of posts."""
    xml(partner, "/wp-sitemap.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{partner.url("/wp-sitemap-posts-post-1.xml")}</loc></sitemap>
<sitemap><loc>{partner.url("/wp-sitemap-users-1.xml")}</loc></sitemap>
</sitemapindex>""")
    urls = "".join(f"<url><loc>{partner.url(path)}</loc></url>" for path in paths)
    xml(partner, "/wp-sitemap-posts-post-1.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>""")


def wordpress_feed(partner, items):
    """WordPress's RSS feed at /feed/: each post's link, title and whole content (content:encoded)."""
    entries = "".join(
        f"<item><title>{title}</title><link>{partner.url(path)}</link>"
        f"<content:encoded><![CDATA[{content}]]></content:encoded></item>" for path, title, content in items)
    xml(partner, "/feed/", f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>The Partner Gazette</title><link>{partner.url("/")}</link>{entries}</channel></rss>""",
        content_type="application/rss+xml; charset=UTF-8")


def origin_copy(story, partner, hits=3, at=None):
    """Hits that named only the partner's origin, counted: the copy they made."""
    at = at or timezone.now() - timedelta(hours=2)
    origin = partner.url("").rstrip("/")
    for number in range(hits):
        hit(story, at + timedelta(seconds=number), visitor=f"r{number}", copy=origin)
    count_all_new_hits(now=at + timedelta(minutes=5))
    return Copy.objects.get(story_id=story.pk, url=origin)


def report(story):
    out = StringIO()
    call_command("republication_report", story=story.pk, as_json=True, stdout=out)
    (entry,) = json.loads(out.getvalue())
    return entry["copies"]


def test_a_site_with_only_wordpress_sitemaps_yields_the_copy_s_full_address(partner, story, handout):
    serve_posts(partner, handout)
    wordpress_sitemaps(partner, [path for path, _ in OTHER_POSTS] + [COPY_PATH])
    copy = origin_copy(story, partner)
    assert origin_only_copies(story.pk) == [copy]

    (outcome,) = discover_copies(story.pk)

    copy.refresh_from_db()
    assert copy.found_status == Copy.FOUND
    assert copy.found_url == partner.url(COPY_PATH)
    assert copy.url == partner.url("").rstrip("/")  # its hits still name the origin, and are counted here
    assert partner.url("/wp-sitemap.xml") in outcome.read
    assert origin_only_copies(story.pk) == []  # found copies are not looked for again
    # Pages are fetched only when their address or title shares the headline's words: the other posts are not.
    assert "/2026/05/ferry-fares-rise/" not in partner.paths()


def test_a_site_with_only_a_feed_yields_the_copy_from_the_pixel_in_the_item_s_content(partner, story, handout):
    # The partner retitled the story and its address, so only the pixel in the feed's content points to it.
    path = "/2026/05/budget-vote-for-the-waterfront/"
    serve_posts(partner, handout, copy_path=path)
    wordpress_feed(partner, [(p, t, f"<p>{t}</p>") for p, t in OTHER_POSTS]
                   + [(path, "Waterfront wins its budget", handout.html)])

    copy = origin_copy(story, partner)

    discover_copies(story.pk)

    copy.refresh_from_db()
    assert (copy.found_status, copy.found_url) == (Copy.FOUND, partner.url(path))


def test_a_site_without_feed_or_sitemap_is_reported_as_not_found(partner, story, handout):
    serve_posts(partner, handout)
    copy = origin_copy(story, partner)

    (outcome,) = discover_copies(story.pk)

    copy.refresh_from_db()
    assert (copy.found_status, copy.found_url) == (Copy.NONE, "")
    assert outcome.read == []
    (row,) = report(story)
    assert row["copy"] == copy.url and row["found_by_byline"] is False
    assert "found no page" in row["finding"]


def test_a_page_that_lost_our_pixel_or_the_story_s_text_is_not_taken_for_the_copy(partner, story, handout):
    without_pixel = handout.html.replace(handout.pixel_url, "https://elsewhere.example/spacer.gif")
    partner.html(COPY_PATH, partner_page(handout, article=without_pixel))
    teaser_path = "/2026/05/council-passes-the-harbor-budget-teaser/"
    pixel_only = handout.html.split("<p><em>")[0]  # the headline, byline and pixel, none of the story
    partner.html(teaser_path, partner_page(handout, article=pixel_only))
    wordpress_sitemaps(partner, [COPY_PATH, teaser_path])
    copy = origin_copy(story, partner)

    (outcome,) = discover_copies(story.pk)

    copy.refresh_from_db()
    assert copy.found_status == Copy.NONE
    assert "no pixel of this story" in outcome.note
    assert "of the story's text" in outcome.note


def test_two_copies_of_one_story_on_one_site_are_reported_not_guessed(partner, story, handout):
    second = "/2026/06/council-passes-the-harbor-budget-2/"
    serve_posts(partner, handout)
    partner.html(second, partner_page(handout))
    wordpress_sitemaps(partner, [COPY_PATH, second])
    copy = origin_copy(story, partner)

    discover_copies(story.pk)

    copy.refresh_from_db()
    assert (copy.found_status, copy.found_url) == (Copy.SEVERAL, "")
    (row,) = report(story)
    assert row["copy"] == copy.url
    assert "Several pages" in row["finding"]
    assert partner.url(COPY_PATH) in row["finding"] and partner.url(second) in row["finding"]


def test_the_sitemap_robots_txt_names_is_read(partner, story, handout):
    serve_posts(partner, handout)
    partner.pages["/robots.txt"] = (200, {"Content-Type": "text/plain"},
                                    f"User-agent: *\nDisallow: /wp-admin/\nSitemap: {partner.url('/news-map.xml')}\n")
    xml(partner, "/news-map.xml", f"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{partner.url(COPY_PATH)}</loc><lastmod>2026-05-02</lastmod></url></urlset>""")
    origin_copy(story, partner)

    discover_copies(story.pk)

    assert Copy.objects.get(story_id=story.pk).found_url == partner.url(COPY_PATH)


def test_views_and_readers_from_before_and_after_the_finding_stay_one_row(partner, story, handout):
    serve_posts(partner, handout)
    wordpress_sitemaps(partner, [COPY_PATH])
    before = timezone.now() - timedelta(hours=3)
    copy = origin_copy(story, partner, hits=3, at=before)
    discover_copies(story.pk)
    # After the finding, more readers whose browsers send only the site, and one that sent the whole address.
    after = timezone.now() - timedelta(hours=1)
    for number in range(2):
        hit(story, after + timedelta(seconds=number), visitor=f"later{number}", copy=copy.url)
    hit(story, after + timedelta(seconds=5), visitor="full", copy=partner.url(COPY_PATH))
    count_all_new_hits(now=after + timedelta(minutes=5))

    (row,) = report(story)

    assert row["copy"] == partner.url(COPY_PATH)
    assert row["found_by_byline"] is True and row["origin"] == copy.url
    assert (row["views"], row["readers"]) == (6, 6)
    out = StringIO()
    call_command("republication_report", story=story.pk, stdout=out)
    assert f"{partner.url(COPY_PATH)}  (found by Byline)" in out.getvalue()


def test_verify_copies_for_a_story_first_looks_for_its_pages_then_checks_them(partner, story, handout):
    serve_posts(partner, handout)
    wordpress_sitemaps(partner, [COPY_PATH])
    origin_copy(story, partner)
    out, err = StringIO(), StringIO()

    call_command("verify_copies", story=story.pk, stdout=out, stderr=err)

    assert f"found        {partner.url(COPY_PATH)}" in err.getvalue()
    verification = Verification.objects.get()
    assert verification.url == partner.url(COPY_PATH)
    assert verification.status == Verification.COMPLIANT, verification.failing


def test_a_copy_not_found_is_looked_for_again_only_after_the_interval(partner, story, handout, settings):
    settings.DISCOVER_INTERVAL_HOURS = 6
    copy = origin_copy(story, partner)
    discover_copies(story.pk)
    assert origin_only_copies(story.pk) == []
    later = timezone.now() + timedelta(hours=7)
    assert origin_only_copies(story.pk, now=later) == [Copy.objects.get(pk=copy.pk)]


def test_a_hostile_site_costs_a_bounded_number_of_requests(partner, story, handout):
    # A sitemap index naming a thousand sitemaps, each naming itself again, and an entity bomb in the feed.
    children = "".join(f"<sitemap><loc>{partner.url(f'/map-{n}.xml')}</loc></sitemap>" for n in range(1000))
    xml(partner, "/wp-sitemap.xml", f'<?xml version="1.0"?><sitemapindex>{children}</sitemapindex>')
    for number in range(1000):
        xml(partner, f"/map-{number}.xml", f'<?xml version="1.0"?><sitemapindex>{children}</sitemapindex>')
    bomb = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
            '<rss><channel><item><title>&d;&d;&d;</title><link>/x</link></item></channel></rss>')
    xml(partner, "/feed/", bomb)
    origin_copy(story, partner)

    (outcome,) = discover_copies(story.pk)

    assert outcome.status == Copy.NONE
    assert len(partner.paths()) <= MAX_DOCUMENTS + 1  # robots.txt, then at most MAX_DOCUMENTS listings
