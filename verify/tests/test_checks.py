"""The checks on their own, without the network: how pages are read, and the finer points of each check."""

import re

import pytest

from verify.checks import (
    MAX_LISTED,
    header_noindex,
    link_header_targets,
    run_checks,
    style_declarations,
)
from verify.original import original_for
from verify.page import CopyPage, decode, extract_blocks, parse_html
from verify.text import align, link_key, norm

from .conftest import partner_page

pytestmark = pytest.mark.django_db

URL = "https://partner.example/2026/05/harbor-budget/"


@pytest.fixture
def original(story, policy):
    return original_for(story, policy)


def checked(original, html, headers=None):
    return run_checks(original, CopyPage(html, URL, headers or {}))


def test_the_original_is_the_handouts_parts(original, story):
    assert original.headline == "Council passes the harbor budget"
    assert original.byline == "By Rosa Delgado and Sam Ortiz, Byline Newsroom"
    assert original.credits == [
        "This story was originally published by Byline Newsroom.",
        "This story was originally published by Byline Newsroom and is republished here under CC BY-ND 4.0.",
    ]
    assert original.links == ["https://example.org/minutes", "https://example.org/budget.pdf", "https://example.org/channel"]
    assert original.paragraphs[0].startswith("PORT ALDER — The council voted 5-2")
    assert original.paragraphs[2] == "What comes next"
    assert original.paragraphs[5:7] == ["We will be back next year.", "— A tenant"]
    assert len(original.paragraphs) == 9
    assert [image.title for image in original.images] == ["Harbor at dawn", "Fishing boats"]


def test_texts_compare_without_cms_noise():
    assert norm("“Don’t” — he said\u00a0 twice…") == norm('"DON\'T" - he said twice...')
    assert norm("co\u00adop\u200bera\u00adtive") == "cooperative"
    assert norm("voted") != norm("vetoed")


def test_links_compare_without_scheme_slash_fragment_or_tracking():
    assert link_key("https://Example.org/minutes/?utm_source=x#top") == link_key("http://example.org/minutes")
    assert link_key("https://example.org/minutes?page=2") != link_key("https://example.org/minutes")
    assert link_key("javascript:alert(1)") == ""


def test_a_moved_paragraph_is_reported_as_moved(original, handout):
    quote = "<blockquote><p>We will be back next year.</p><p>— A tenant</p></blockquote>"
    article = handout.html.replace(quote + "\n", "").replace("<h2>", quote + "<h2>")
    report = checked(original, partner_page(handout, article=article))
    assert report.failing == ["text"]
    text = report.checks["text"].evidence
    assert [entry["text"] for entry in text["moved"]] == ["We will be back next year.", "— A tenant"]
    assert text["missing"] == text["added"] == []


def test_a_story_cut_mid_paragraph_is_truncated(original, handout):
    cut = handout.html.index("many of them fishermen")
    article = handout.html[:cut] + "…</p>"
    text = checked(original, partner_page(handout, article=article)).checks["text"].evidence
    assert text["truncated"]["cut_mid_paragraph"] is True
    assert text["truncated"]["kept"] == 3


def test_a_copy_with_every_paragraph_touched_is_still_found_and_compared(original, handout):
    start = handout.html.index("<p><strong>PORT ALDER")
    article = handout.html[:start] + re.sub(r"(<p>)(?!<em>)", r"\1Reportedly, ", handout.html[start:])
    text = checked(original, partner_page(handout, article=article)).checks["text"].evidence
    assert len(text["changed"]) == 8  # every paragraph but the heading, which is not a <p>
    assert text["missing"] == [] and text["added"] == []
    assert 0.9 < text["similarity"] < 0.99


def test_a_page_without_the_story_says_so(original, handout):
    report = checked(original, partner_page(handout, article="<p>Something else entirely, about ferries.</p>"))
    assert report.checks["text"].summary == "The story's text is not on the page"
    assert report.similarity == 0.0
    assert len(report.checks["text"].evidence["missing"]) == 9


def test_alignment_pairs_changed_paragraphs_in_order():
    original = ["the council voted on tuesday", "residents spoke for hours", "the mayor was pleased"]
    copy = ["the council voted on wednesday", "an advertisement for boats and more", "the mayor was very pleased"]
    result = align(original, [p.split() for p in original], copy, [p.split() for p in copy])
    assert result.changed == [(0, 0), (2, 2)]
    assert result.missing == [1] and result.added == [1]


def test_x_robots_tag_headers_are_read_per_crawler():
    assert header_noindex("noindex")
    assert header_noindex("googlebot: noindex, nofollow")
    assert header_noindex("unavailable_after: 2027-01-01, none")
    assert not header_noindex("otherbot: noindex")
    assert not header_noindex("nofollow, max-snippet: 20")


def test_canonical_may_come_as_a_link_header(original, handout):
    head = '<meta name="robots" content="noindex">'
    headers = {"link": f'<{original.canonical_url}>; rel="canonical", </style.css>; rel=preload'}
    report = checked(original, partner_page(handout, head=head), headers)
    assert report.failing == []
    assert report.checks["canonical"].evidence["http_header"] == [original.canonical_url]
    assert link_header_targets('<https://a.example/>; rel="alternate canonical"', "canonical") == ["https://a.example/"]


def test_two_different_canonicals_are_a_conflict(original, handout):
    head = handout.head + '<link rel="canonical" href="https://partner.example/own/">'
    report = checked(original, partner_page(handout, head=head))
    assert report.failing == ["canonical"]
    assert report.checks["canonical"].summary.startswith("Conflicting canonical links")


def test_inline_styles_follow_the_cascade():
    assert style_declarations("display:none; display:block") == {"display": "block"}
    assert style_declarations("display:none!important; display:block") == {"display": "none"}
    assert style_declarations("DISPLAY : None ;; width:") == {"display": "none"}


def test_a_pixel_moved_off_screen_or_sized_to_zero_is_hidden(original, handout):
    img = re.search(r"<img [^>]*/pixel/[^>]*>", handout.html).group(0)
    for attributes, reason in [
        ('width="0"', 'width="0"'),
        ('style="position:absolute;left:-9999px"', "moved off screen (left:-9999px)"),
    ]:
        pixel = re.sub(r' (width="1"|style="[^"]*")', "", img).replace("<img ", f"<img {attributes} ")
        report = checked(original, partner_page(handout, article=handout.html.replace(img, pixel)))
        assert report.checks["pixel"].evidence["pixels"][0]["hidden"] == [reason]


def test_a_pixel_pointing_elsewhere_or_of_our_own_pages_fails(original, handout, story):
    elsewhere = handout.html.replace("http://testserver/pixel/", "https://proxy.example/pixel/")
    own = handout.html.replace("/html/", "/site/")
    pixel = checked(original, partner_page(handout, article=elsewhere)).checks["pixel"]
    assert pixel.evidence["pixels"][0]["problems"] == ["it points to proxy.example, not to us"]
    problems = checked(original, partner_page(handout, article=own)).checks["pixel"].evidence["pixels"][0]["problems"]
    assert problems == ["it is our own pages' pixel: this copy's readers would count as readers of our site"]


def test_a_hostile_page_cannot_fill_the_evidence(original, handout):
    pixels = "".join(f'<img src="http://testserver/pixel/{n}/html/0000000000000000.gif">' for n in range(500))
    paragraphs = "".join(f"<p>Filler paragraph number {n} added by the partner.</p>" for n in range(300))
    bottom = handout.html.rindex("<p><em>This story was originally")
    article = pixels + handout.html[:bottom] + paragraphs + handout.html[bottom:]
    report = checked(original, partner_page(handout, article=article))
    assert len(report.checks["pixel"].evidence["pixels"]) == 20
    text = report.checks["text"].evidence
    assert len(text["added"]) == MAX_LISTED and text["not_listed"] == {"added": 200}
    assert "300 paragraphs added" in report.checks["text"].summary


def test_pages_are_decoded_from_their_declared_or_sniffed_charset():
    latin = "<html><head><meta charset='iso-8859-1'></head><body><p>Café</p></body></html>".encode("latin-1")
    assert "Café" in decode(latin)
    assert "Café" in decode("<p>Café</p>".encode(), "utf-8")
    assert "Caf" in decode(b"<p>Caf\xe9</p>", "no-such-charset")


def test_any_markup_is_read_without_failing():
    deep = "<div>" * 200 + "<p>deep</p>" + "</div>" * 200
    assert [block.text for block in extract_blocks(parse_html(deep))] == ["deep"]
    for html in ("<div>" * 50000, "", "<?xml version='1.0' encoding='utf-8'?><html><body><p>x</p></body></html>",
                 "\x00\x01", "<p"):
        assert isinstance(CopyPage(html, URL).blocks, list)
