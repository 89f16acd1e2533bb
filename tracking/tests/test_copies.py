"""Which copy a hit came from: one normal form per page, and the host the visitor key is made for."""

import pytest

from tracking.copies import host_of, identify, normalize

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
