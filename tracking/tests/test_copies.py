"""Which copy a hit came from: one normal form per page, and the host the visitor key is made for."""

import pytest

from tracking.copies import host_of, identify, is_partner_preview, normalize

ADDRESSES = [
    ("https://partner.example/2026/11/harbor-cleanup/", "https://partner.example/2026/11/harbor-cleanup/"),
    ("https://partner.example/", "https://partner.example"),
    ("HTTPS://Partner.Example:443/a?utm_source=x&id=7#top", "https://partner.example/a?id=7"),
    ("http://partner.example:8080/a", "http://partner.example:8080/a"),
    ("https://partner.example/a\x00b", "https://partner.example/a%00b"),
    ("http://[2001:DB8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
    ("ftp://partner.example/a", ""),
    ("not an address", ""),
    ("", ""),
]


@pytest.mark.parametrize("url,normal", ADDRESSES)
def test_an_address_has_one_normal_form(url, normal):
    assert normalize(url) == normal


@pytest.mark.parametrize("url,normal", ADDRESSES)
def test_identify_gives_the_normal_form_and_its_host_in_one_go(url, normal):
    assert identify(url) == (normal, host_of(normal) if normal else "")


@pytest.mark.parametrize("url", [
    "https://partner.example/wp-admin/post.php?post=12&action=edit", "https://partner.example/wp-json/wp/v2/posts/12",
    "https://partner.example/?p=12&preview=true", "https://partner.example/story/?preview_id=12",
    "https://partner.example/story/?preview_nonce=ab", "https://partner.example/story/?_thumbnail_id=4",
    "https://partner.example/ghost/#/editor/post/1", "https://partner.example/Admin/stories/3",
    "https://partner.example/user/3/edit", "https://partner.example/node/4/edit", "https://partner.example/story/edit",
    "https://partner.example/PREVIEW/story", "https://partner.example/drafts/12", "https://partner.example/draft/12",
])
def test_a_partners_editor_or_preview_is_told_apart(url):
    assert is_partner_preview(url)


@pytest.mark.parametrize("url", [
    "", "https://partner.example/2026/11/harbor-cleanup/", "https://partner.example/editorial/harbor",
    "https://partner.example/admins-of-the-harbor/", "https://partner.example/drafting-a-budget/",
])
def test_a_readers_page_is_not_a_preview(url):
    assert not is_partner_preview(url)
