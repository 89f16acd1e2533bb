"""The pixel check tells the truth about what a copy's pixel costs: a pixel that still counts readers passes,
with what is lost (the copy's address, the page's looks) in its summary and evidence["costs"]; one that
counts nobody, or only readers without JavaScript, fails."""

import re

import pytest

from verify.checks import STYLE_REMOVED, check_pixel
from verify.original import original_for
from verify.page import CopyPage

from .conftest import partner_page

pytestmark = pytest.mark.django_db

URL = "https://partner.example/2026/05/harbor-budget/"
PRESENT = "Pixel present, signed for this story and visible"
SITE_ONLY = "counted by site only: the referrer policy was removed"


@pytest.fixture
def original(story, policy):
    return original_for(story, policy)


def the_pixel(handout):
    return re.search(r"<img [^>]*/pixel/[^>]*>", handout.html).group(0)


def pixel_check(original, handout, pixel=None, head="", headers=None):
    """The pixel check of a partner's page carrying the handout, its pixel replaced by `pixel(img)`."""
    article = handout.html
    if pixel is not None:
        article = article.replace(the_pixel(handout), pixel(the_pixel(handout)))
    html = partner_page(handout, head=handout.head + head, article=article)
    return check_pixel(original, CopyPage(html, URL, headers or {}))


def without(attribute):
    return lambda img: re.sub(rf' {attribute}="[^"]*"', "", img)


def test_the_handouts_pixel_costs_nothing(original, handout):
    result = pixel_check(original, handout)
    assert (result.ok, result.summary, result.evidence["costs"]) == (True, PRESENT, [])
    assert result.evidence["pixels"][0]["costs"] == []


def test_without_its_referrer_policy_the_pixel_still_counts_but_by_site_only(original, handout):
    result = pixel_check(original, handout, without("referrerpolicy"))
    assert result.ok is True
    assert result.evidence["costs"] == [SITE_ONLY]
    assert result.summary == f"{PRESENT}; {SITE_ONLY}"


@pytest.mark.parametrize("value", ["origin", "strict-origin", "strict-origin-when-cross-origin",
                                   "origin-when-cross-origin", "Origin"])
def test_a_referrer_policy_that_sends_only_the_origin_counts_by_site_only(original, handout, value):
    result = pixel_check(original, handout, lambda img: img.replace("no-referrer-when-downgrade", value))
    assert result.ok is True
    assert result.evidence["costs"] == [f"counted by site only: its referrer policy is {value.lower()}"]


@pytest.mark.parametrize("value", ["no-referrer", "same-origin"])
def test_a_referrer_policy_that_sends_nothing_counts_an_unknown_page(original, handout, value):
    result = pixel_check(original, handout, lambda img: img.replace("no-referrer-when-downgrade", value))
    assert result.ok is True
    assert result.evidence["costs"] == [
        f"counted as an unknown page: its referrer policy is {value}, which sends no address"]


def test_an_unknown_referrer_policy_is_as_good_as_none(original, handout):
    result = pixel_check(original, handout, lambda img: img.replace("no-referrer-when-downgrade", "full"))
    assert result.evidence["costs"] == ["counted by site only: its referrer policy (full) means nothing to browsers"]


def test_without_its_own_policy_the_pixel_follows_the_pages_meta_then_its_header(original, handout):
    no_referrer_meta = '<meta name="referrer" content="no-referrer">'
    by_meta = pixel_check(original, handout, without("referrerpolicy"), head=no_referrer_meta)
    by_header = pixel_check(original, handout, without("referrerpolicy"),
                            headers={"referrer-policy": "unsafe-url, no-referrer, made-up"})
    meta_over_header = pixel_check(original, handout, without("referrerpolicy"),
                                   head='<meta name="referrer" content="always">',
                                   headers={"referrer-policy": "no-referrer"})
    assert by_meta.evidence["costs"] == [
        "counted as an unknown page: the referrer policy was removed and the page's <meta name=\"referrer\"> "
        "sets no-referrer, which sends no address"]
    assert by_header.evidence["costs"] == [
        "counted as an unknown page: the referrer policy was removed and the page's Referrer-Policy header "
        "sets no-referrer, which sends no address"]
    assert meta_over_header.evidence["costs"] == []  # "always", the old name of unsafe-url: the full address
    assert all(result.ok for result in (by_meta, by_header, meta_over_header))


def test_the_pixels_own_policy_wins_over_the_pages(original, handout):
    result = pixel_check(original, handout, head='<meta name="referrer" content="no-referrer">',
                         headers={"referrer-policy": "no-referrer"})
    assert result.evidence["costs"] == []


def test_a_referrer_meta_after_the_pixel_comes_too_late_for_it(original, handout):
    late = '<meta name="referrer" content="no-referrer">'
    result = pixel_check(original, handout, lambda img: without("referrerpolicy")(img) + late)
    assert result.evidence["costs"] == [SITE_ONLY]


def test_a_pixel_stripped_of_its_style_still_counts_but_may_show_or_take_space(original, handout):
    result = pixel_check(original, handout, without("style"))
    assert result.ok is True
    assert result.evidence["costs"] == [STYLE_REMOVED]
    assert result.summary == f"{PRESENT}; {STYLE_REMOVED}"


def test_size_attributes_are_a_cost_only_where_no_style_caps_them(original, handout):
    sized = pixel_check(original, handout, lambda img: img.replace("<img ", '<img width="300" height="200" '))
    unstyled = pixel_check(original, handout,
                           lambda img: without("style")(img).replace("<img ", '<img width="300" height="200" '))
    assert sized.evidence["costs"] == []
    assert unstyled.evidence["costs"] == [
        'it is sized larger than 1x1 (width="300", height="200"): an empty box that takes space', STYLE_REMOVED]
    assert unstyled.ok is True


def test_a_style_changed_to_a_larger_size_or_a_frame_is_named(original, handout):
    def restyled(style):
        return lambda img: re.sub(r'style="[^"]*"', f'style="{style}"', img)

    larger = pixel_check(original, handout, restyled("width:100%;height:auto;border:0;margin:0;padding:0"))
    framed = pixel_check(original, handout, restyled(
        "width:1px;height:1px;border:2px solid #ccc;margin:0;padding:4px;box-shadow:0 0 4px #000"))
    cut = pixel_check(original, handout, restyled("width:1px;height:1px"))
    assert larger.evidence["costs"] == [
        "it is sized larger than 1x1 (width:100%): an empty box that takes space",
        "its style no longer sets its height: the theme's image rules do, so it may take space or show as an "
        "empty box"]
    assert framed.evidence["costs"] == [
        "its style gives it a visible frame (border:2px solid #ccc, box-shadow:0 0 4px #000, padding:4px): "
        "a small box readers can see"]
    assert cut.evidence["costs"] == [
        "its style no longer sets its border, margin, padding: the theme's image rules do, so it may take space "
        "or show as an empty box"]
    assert larger.ok and framed.ok and cut.ok


def test_of_several_pixels_the_one_that_costs_least_speaks(original, handout):
    result = pixel_check(original, handout, lambda img: without("referrerpolicy")(img) + img)
    assert [entry["costs"] for entry in result.evidence["pixels"]] == [[SITE_ONLY], []]
    assert (result.summary, result.evidence["costs"]) == (PRESENT, [])


def test_a_pixel_inside_noscript_counts_only_readers_without_javascript(original, handout):
    result = pixel_check(original, handout, lambda img: f"<noscript>{img}</noscript>")
    assert result.ok is False
    assert result.summary == "Pixel hidden: inside <noscript> (counted only for readers without JavaScript)"


def test_a_pixel_inside_a_template_is_never_shown(original, handout):
    result = pixel_check(original, handout, lambda img: f"<template>{img}</template>")
    assert result.ok is False
    assert "inside <template> (never shown: not counted)" in result.evidence["pixels"][0]["hidden"]


def test_a_commented_out_pixel_counts_nobody(original, handout):
    result = pixel_check(original, handout, lambda img: f"<!-- {img} -->")
    assert (result.ok, result.summary) == (False, "Pixel commented out: not counted")
    assert "costs" not in result.evidence
