"""Verifying copies on a partner's site: each page is reported for exactly what is wrong with it, no more.

The partner site runs on loopback (allowed by FETCH_ALLOW_HOSTS, as in tests and intranets); its pages
are our handout pasted into a typical news site's template, then altered the way partners alter them.
"""

import re

import pytest

from republish import pixel
from republish.handout import build_handout
from stories.factories import OriginFactory
from tracking.factories import CopyFactory
from verify.factories import ManualCopyFactory
from verify.models import Verification
from verify.runner import copy_target, manual_target, verify_targets

from .conftest import partner_page

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("verify_settings")]


def verify(story, url):
    """Verify `url` as a copy of `story` the pixel revealed; the kept Verification."""
    ((_, verification),) = verify_targets([copy_target(CopyFactory(story=story, url=url))])
    return verification


def evidence(verification, check):
    return verification.checks[check]["evidence"]


def without_pixel(html):
    html = re.sub(r"<!-- Tracking image.*?-->\n", "", html)
    return re.sub(r"<img [^>]*/pixel/[^>]*>\n", "", html)


def the_pixel(html):
    return re.search(r"<img [^>]*/pixel/[^>]*>", html).group(0)


def test_a_faithful_copy_is_compliant(partner, story, handout):
    url = partner.html("/2026/05/harbor-budget/", partner_page(handout))
    result = verify(story, url)
    assert result.status == Verification.COMPLIANT
    assert result.failing == []
    assert result.similarity == 1.0
    assert result.http_status == 200 and result.final_url == url
    assert result.checks["text"]["summary"] == "Text unaltered (similarity 100%)"
    assert result.checks["permission"]["ok"] is True
    assert all(result.checks[name]["ok"] is True for name in result.checks)


def test_a_copy_pasted_into_a_cms_with_its_own_title_byline_and_furniture_is_compliant(partner, story, handout):
    """The partner's CMS renders the headline, byline and date itself and adds share buttons, an ad slot and
    its own appeal after our story; the story between our credit lines is untouched."""
    start = handout.html.index("<!-- Tracking image")
    article = f"""<header class="entry-header"><h1 class="entry-title">Council Passes the Harbor Budget</h1>
<p class="byline">By Rosa Delgado and Sam Ortiz | Byline Newsroom</p>
<p class="date">Published May 5, 2026 at 3:12 pm</p></header>
<div class="share"><p>Share this:</p></div>
{handout.html[start:]}
<div class="ad"><p>Advertisement</p></div>
<p class="appeal">The Partner Gazette is nonprofit news. Become a member today.</p>"""
    url = partner.html("/news/council-harbor-budget", partner_page(handout, article=article))
    result = verify(story, url)
    assert result.failing == []
    assert result.status == Verification.COMPLIANT
    assert evidence(result, "text")["ignored"] == ["Share this:"]
    assert evidence(result, "text")["after_credit"] == [
        "Advertisement", "The Partner Gazette is nonprofit news. Become a member today."]


def test_a_copy_that_lost_the_pixel_fails_only_the_pixel(partner, story, handout):
    url = partner.html("/no-pixel/", partner_page(handout, article=without_pixel(handout.html)))
    result = verify(story, url)
    assert result.status == Verification.ISSUES
    assert result.failing == ["pixel"]
    assert result.checks["pixel"]["summary"] == "No pixel"
    assert evidence(result, "pixel")["pixels"] == []


def test_a_commented_out_pixel_is_reported_as_such(partner, story, handout):
    article = handout.html.replace(the_pixel(handout.html), f"<!-- {the_pixel(handout.html)} -->")
    result = verify(story, partner.html("/commented/", partner_page(handout, article=article)))
    assert result.failing == ["pixel"]
    assert result.checks["pixel"]["summary"] == "Pixel commented out: not counted"
    assert f"/pixel/{story.pk}/html/" in evidence(result, "pixel")["commented_out"][0]


@pytest.mark.parametrize("wrapper, reason", [
    ('<div class="tracking" style="display: none">{}</div>', "display:none on <div.tracking>"),
    ("<div hidden>{}</div>", "hidden attribute on <div>"),
    ("<noscript>{}</noscript>", "inside <noscript> (counted only for readers without JavaScript)"),
])
def test_a_hidden_pixel_fails_only_the_pixel_with_the_reason(partner, story, handout, wrapper, reason):
    article = handout.html.replace(the_pixel(handout.html), wrapper.format(the_pixel(handout.html)))
    result = verify(story, partner.html("/hidden/", partner_page(handout, article=article)))
    assert result.failing == ["pixel"]
    assert evidence(result, "pixel")["pixels"][0]["hidden"] == [reason]
    assert result.checks["pixel"]["summary"] == f"Pixel hidden: {reason}"


def test_a_pixel_styled_away_on_itself_is_hidden_as_the_cascade_decides(partner, story, handout):
    """Among !important declarations the last one wins: one put before our width:1px!important loses."""
    img = the_pixel(handout.html)
    before = handout.html.replace(img, img.replace('style="', 'style="width:0!important;'))
    after = handout.html.replace(img, img.replace('important">', 'important;width:0!important">'))
    shown = verify(story, partner.html("/styled-before/", partner_page(handout, article=before)))
    hidden = verify(story, partner.html("/styled-after/", partner_page(handout, article=after)))
    assert shown.failing == []
    assert hidden.failing == ["pixel"]
    assert evidence(hidden, "pixel")["pixels"][0]["hidden"] == ["width:0"]


def test_a_pixel_of_another_story_or_with_a_forged_signature_fails(partner, story, handout):
    other = handout.html.replace(handout.pixel_url, pixel.pixel_url(story.pk + 1, "html", "http://testserver"))
    forged = handout.html.replace(pixel.sign(story.pk), "0" * pixel.SIGNATURE_LENGTH)
    other_result = verify(story, partner.html("/other/", partner_page(handout, article=other)))
    forged_result = verify(story, partner.html("/forged/", partner_page(handout, article=forged)))
    assert other_result.failing == forged_result.failing == ["pixel"]
    assert evidence(other_result, "pixel")["pixels"][0]["problems"] == [
        f"counts story {story.pk + 1}, not this one ({story.pk})"]
    assert evidence(forged_result, "pixel")["pixels"][0]["problems"] == ["its signature is not valid"]


def test_an_edited_paragraph_fails_the_text_with_a_word_diff(partner, story, handout):
    article = handout.html.replace("was a turning point for", "was a disaster for")
    result = verify(story, partner.html("/edited/", partner_page(handout, article=article)))
    assert result.failing == ["text"]
    text = evidence(result, "text")
    assert [entry["index"] for entry in text["changed"]] == [5]
    assert text["changed"][0]["diff"] == (
        "Mayor Lena Park said the vote was a [-turning point-] {+disaster+} for the waterfront."
    )
    assert text["changed"][0]["changes"] == [{"removed": "turning point", "added": "disaster"}]
    assert text["missing"] == text["added"] == [] and text["truncated"] is None
    assert 0.95 < result.similarity < 1


def test_a_truncated_story_fails_the_text_and_says_where_it_was_cut(partner, story, handout):
    cut = handout.html.index("<blockquote>")
    article = handout.html[:cut] + f'<p>Read the rest at <a href="{story.full_url}">Byline Newsroom</a>.</p>'
    result = verify(story, partner.html("/truncated/", partner_page(handout, article=article)))
    assert result.failing == ["text"]
    text = evidence(result, "text")
    assert text["truncated"] == {"kept": 5, "of": 9, "cut_mid_paragraph": False,
                                 "after": "Mayor Lena Park said the vote was a turning point for the waterfront."}
    assert [entry["index"] for entry in text["missing"]] == [6, 7, 8, 9]
    assert [entry["text"] for entry in text["added"]] == ["Read the rest at Byline Newsroom."]
    assert result.checks["text"]["summary"].startswith(
        "Text altered: truncated after paragraph 5 of 9; 4 paragraphs missing"
    )


def test_a_copy_that_dropped_links_lists_the_missing_ones(partner, story, handout):
    article = (handout.html
               .replace('<a href="https://example.org/budget.pdf">the budget document</a>', "the budget document")
               .replace('<a href="https://example.org/channel">shipping channel</a>', "shipping channel"))
    result = verify(story, partner.html("/unlinked/", partner_page(handout, article=article)))
    assert result.failing == ["links"]
    assert evidence(result, "links") == {"expected": 3, "missing": ["https://example.org/budget.pdf", "https://example.org/channel"]}


def test_a_copy_without_the_canonical_fails_only_the_canonical(partner, story, handout):
    head = '<meta name="robots" content="noindex">'
    result = verify(story, partner.html("/no-canonical/", partner_page(handout, head=head)))
    assert result.failing == ["canonical"]
    assert result.checks["canonical"]["summary"].startswith("No canonical link in the head. Paste our head snippet")


def test_a_canonical_in_the_body_does_not_count(partner, story, handout):
    head = '<meta name="robots" content="noindex">'
    article = f'<link rel="canonical" href="{story.full_url}">\n' + handout.html
    result = verify(story, partner.html("/body-canonical/", partner_page(handout, head=head, article=article)))
    assert result.failing == ["canonical"]
    assert evidence(result, "canonical")["head"] == []
    assert evidence(result, "canonical")["body"] == [story.full_url]
    assert result.checks["canonical"]["summary"].startswith(
        "No canonical link in the head (one in the body, which search engines ignore). ")


def test_a_canonical_after_body_content_in_the_head_lands_in_the_body(partner, story, handout):
    """Browsers and search engines end the head at the first element that belongs to the body."""
    head = ('<meta name="robots" content="noindex"><div class="promo">Subscribe</div>'
            f'<link rel="canonical" href="{story.full_url}">')
    result = verify(story, partner.html("/late-canonical/", partner_page(handout, head=head)))
    assert "canonical" in result.failing
    assert evidence(result, "canonical")["body"] == [story.full_url]


def test_a_canonical_to_the_partner_itself_fails(partner, story, handout):
    url = partner.url("/self-canonical/")
    head = f'<link rel="canonical" href="{url}"><meta name="robots" content="noindex">'
    partner.html("/self-canonical/", partner_page(handout, head=head))
    result = verify(story, url)
    assert result.failing == ["canonical"]
    assert result.checks["canonical"]["summary"].startswith(f"Canonical points to {url}, not to the original. ")


def test_a_copy_without_noindex_fails_only_the_noindex(partner, story, handout):
    head = f'<link rel="canonical" href="{story.full_url}">'
    result = verify(story, partner.html("/indexed/", partner_page(handout, head=head)))
    assert result.failing == ["noindex"]
    assert result.checks["noindex"]["summary"].startswith("No noindex. Paste our head snippet")


def test_noindex_may_come_as_an_x_robots_tag_header(partner, story, handout):
    head = f'<link rel="canonical" href="{story.full_url}">'
    url = partner.html("/header-noindex/", partner_page(handout, head=head),
                       **{"X-Robots-Tag": "googlebot: noindex, nofollow"})
    result = verify(story, url)
    assert result.failing == []
    assert result.checks["noindex"]["summary"] == "Noindex in the X-Robots-Tag header"


def test_canonical_and_noindex_are_only_checked_where_the_policy_asks(partner, story, handout, policy):
    policy.require_canonical = policy.require_noindex = False
    policy.save()
    result = verify(story, partner.html("/bare-head/", partner_page(handout, head="")))
    assert result.status == Verification.COMPLIANT
    assert result.checks["canonical"]["ok"] is None and result.checks["noindex"]["ok"] is None
    assert result.checks["canonical"]["summary"] == "Not required by our policy (no canonical link in the head)"


def test_a_copied_image_fails_only_the_images_check(partner, story, handout):
    rendition = story.lead_image.get_rendition("width-800")
    uploaded = rendition.file.name.rsplit("/", 1)[1]
    figure = (f'<figure><img src="/wp-content/uploads/2026/05/{uploaded}" alt="Harbor at dawn">'
              "<figcaption>The harbor at dawn. Image by Staff photographer</figcaption></figure>\n")
    inline = next(block.value["image"] for block in story.body if block.block_type == "image")
    hotlinked = f'<p><img src="http://testserver/media/{inline.file.name}" alt=""></p>\n'
    article = handout.html.replace("<h2>", figure + hotlinked + "<h2>")
    result = verify(story, partner.html("/pictures/", partner_page(handout, article=article)))
    assert result.failing == ["images"]
    copied = evidence(result, "images")["copied"]
    assert [(entry["image"], entry["how"]) for entry in copied] == [
        ("Harbor at dawn", "uploaded to their site"), ("Fishing boats", "hotlinked from our site")]
    assert copied[0]["src"] == partner.url(f"/wp-content/uploads/2026/05/{uploaded}")


def test_the_partners_own_pictures_are_fine(partner, story, handout):
    figure = ('<figure><img src="/wp-content/uploads/2026/05/ferry-dock.jpg" '
              'srcset="/wp-content/uploads/ferry-dock-300x200.jpg 300w" alt="">'
              "<figcaption>The ferry dock. Photo: Partner Gazette</figcaption></figure>\n")
    result = verify(story, partner.html("/own-pictures/", partner_page(handout, article=figure + handout.html)))
    assert result.failing == []


def test_a_changed_headline_fails_only_the_headline(partner, story, handout):
    article = handout.html.replace("<h1>Council passes the harbor budget</h1>", "<h1>Harbor budget sails through</h1>")
    page = partner_page(handout, article=article, title="Harbor budget sails through")
    result = verify(story, partner.html("/headline/", page))
    assert result.failing == ["headline"]
    assert result.checks["headline"]["summary"] == "Headline changed: “Harbor budget sails through”"
    assert evidence(result, "headline")["expected"] == "Council passes the harbor budget"


@pytest.mark.parametrize("where", ["before the credit", "after the credit"])
def test_an_additional_reporting_note_fails_the_text_wherever_it_is(partner, story, handout, where):
    note = "<p><em>Additional reporting by Jo Tran of the Partner Gazette.</em></p>"
    bottom = handout.html.rindex("<p><em>This story was originally")
    article = (handout.html[:bottom] + note + "\n" + handout.html[bottom:] if where == "before the credit"
               else handout.html + "\n" + note)
    result = verify(story, partner.html("/more-reporting/", partner_page(handout, article=article)))
    assert result.failing == ["text"]
    text = evidence(result, "text")
    assert text["additional_reporting"] == "Additional reporting by Jo Tran of the Partner Gazette."
    assert text["truncated"] is None and text["missing"] == [] and text["changed"] == []
    if where == "before the credit":
        assert text["added"] == [{"after": 9, "text": "Additional reporting by Jo Tran of the Partner Gazette."}]
    else:
        assert text["added"] == []
        assert text["after_credit"] == ["Additional reporting by Jo Tran of the Partner Gazette."]
    assert result.checks["text"]["summary"] == "Text altered: " + (
        "1 paragraph added; an “additional reporting” note added (similarity 96%)" if where == "before the credit"
        else "an “additional reporting” note added (similarity 100%)")


def test_a_copy_missing_credit_and_the_authors_fails_the_credit(partner, story, handout):
    article = re.sub(r"<p><em>This story was originally.*?</em></p>", "", handout.html)
    article = article.replace("<p>By Rosa Delgado and Sam Ortiz, Byline Newsroom</p>", "<p>By Staff</p>")
    result = verify(story, partner.html("/uncredited/", partner_page(handout, article=article)))
    assert result.failing == ["credit"]
    assert result.checks["credit"]["summary"] == (
        "Credit incomplete: no credit line; no link to the original; author not named: Rosa Delgado, Sam Ortiz")


def test_a_copy_of_a_story_that_may_not_travel_fails_the_permission(partner, story, policy):
    story.origin = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA")
    story.save_revision().publish()
    url = partner.html("/wire-copy/", partner_page(build_handout(story, policy)))
    manual = ManualCopyFactory(story=story, url=url, note="Suspected copy of wire story")
    ((_, result),) = verify_targets([manual_target(manual)])
    assert result.manual == manual and result.copy is None
    assert result.failing == ["permission"]
    assert evidence(result, "permission") == {
        "rule": "origin", "reason": "This story originated with JTA and is not available for republishing."}


def test_several_things_wrong_are_all_reported(partner, story, handout):
    article = without_pixel(handout.html).replace("was a turning point for", "was a disaster for")
    result = verify(story, partner.html("/many/", partner_page(handout, head="", article=article)))
    assert result.failing == ["pixel", "canonical", "noindex", "text"]
    assert result.status == Verification.ISSUES


@pytest.mark.parametrize("status", [404, 410])
def test_a_page_that_is_gone_is_removed(partner, story, status):
    url = partner.html("/gone/", "<h1>Gone</h1>", status=status)
    result = verify(story, url)
    assert result.status == Verification.REMOVED
    assert result.http_status == status and result.failing == [] and result.checks == {}
    assert result.error == f"the page answers {status}"


def test_a_redirect_to_a_missing_page_is_removed_and_the_final_url_kept(partner, story):
    partner.pages["/old/"] = (301, {"Location": "/new/"}, b"")
    result = verify(story, partner.url("/old/"))
    assert result.status == Verification.REMOVED
    assert result.final_url == partner.url("/new/")


def test_an_unreachable_host_is_unreachable(story, verify_settings):
    import socket

    with socket.socket() as sock:  # a port nobody listens on any more
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = verify(story, f"http://127.0.0.1:{port}/story/")
    assert result.status == Verification.UNREACHABLE
    assert result.error.startswith("unreachable: ConnectionRefusedError")
    assert result.http_status is None


def test_server_errors_and_other_content_are_unreachable(partner, story):
    broken = verify(story, partner.html("/broken/", "oops", status=503))
    pdf = partner.url("/story.pdf")
    partner.pages["/story.pdf"] = (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7")
    not_html = verify(story, pdf)
    assert (broken.status, broken.error) == (Verification.UNREACHABLE, "the page answers 503")
    assert (not_html.status, not_html.error) == (Verification.UNREACHABLE, "the page is application/pdf, not HTML")


def test_a_private_address_not_allowed_is_unreachable_and_never_requested(partner, story, settings):
    settings.FETCH_ALLOW_HOSTS = []
    result = verify(story, partner.html("/private/", "<p>secret</p>"))
    assert result.status == Verification.UNREACHABLE
    assert result.error == "refused: the host resolves to an address we do not fetch (private or local: loopback)"
    assert partner.requests == []


def test_the_fetch_says_who_we_are(partner, story, handout):
    verify(story, partner.html("/ua/", partner_page(handout)))
    ((_path, headers),) = partner.requests
    assert headers["User-Agent"].startswith("Byline-Verify/1.0 (+http://testserver;")
