"""Issue #17, finding 4: the Copies pages of a story read on 10,000 pages stay small (paginated), and their
totals still count every copy."""

import re

import pytest
from django.urls import reverse

from tracking.tests.test_many_copies import COPIES, LIMIT, many_copies, walk

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("verify_settings")]


@pytest.fixture
def editor(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("editor", "editor@example.org", "pw"))


def not_checked(html):
    return int(re.search(r'<span class="number">(\d+)</span> not checked yet', html).group(1))


def test_a_story_with_10000_copies_has_small_copies_pages(client, editor, story):
    many_copies(story)
    sizes, rows, first = walk(client, reverse("verify_copies:story", args=[story.pk]), r"harbor-cleanup-\d+/", pages=3)
    assert max(sizes) < LIMIT and len(sizes) == 3 and len(rows) == 300
    assert not_checked(first) == COPIES


def test_the_copies_overview_pages_its_10000_republishers(client, editor, story):
    many_copies(story)
    sizes, hosts, first = walk(client, reverse("verify_copies:overview"), r"site\d+\.example", pages=3)
    assert max(sizes) < LIMIT and len(hosts) == 300
    assert not_checked(first) == COPIES
    page = client.get(reverse("verify_copies:overview") + "?republishers_page=2&page=1").content.decode()
    assert "Page 2 of 100" in page and "page=1&amp;republishers_page=3" in page


def test_a_republisher_with_10000_copies_has_small_copies_pages(client, editor, story):
    many_copies(story, host="partner.example")
    sizes, rows, _ = walk(client, reverse("verify_copies:republisher", args=["partner.example"]),
                          r"harbor-cleanup-\d+/", pages=3)
    assert max(sizes) < LIMIT and len(rows) == 300
