"""Issue #17, finding 4: one reader sending signed hits with a new ?url= host each time must not mint a copy and a
reader per hit. The pixel caps new copies of a story per reader and per address block (filters.CopyCap)."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db.models import Sum
from django.utils import timezone

from republish.pixel import pixel_path
from stories.factories import StoryPageFactory
from tracking import filters
from tracking.counting import count_all_new_hits
from tracking.models import Copy, FilteredCount, Hit, Rollup

from .helpers import BROWSER, inline_pixel, request

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_caps")]
HITS = 10_000


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news)


@pytest.fixture
def pixel(tmp_path):
    return inline_pixel("wsgi", tmp_path / "journal")


def count():
    count_all_new_hits(now=timezone.now() + timedelta(minutes=1))


def counted(story):
    readers = Rollup.objects.filter(story_id=story.pk).aggregate(readers=Sum("readers"))["readers"] or 0
    flood = FilteredCount.objects.filter(reason=filters.COPY_FLOOD).aggregate(hits=Sum("hits"))["hits"] or 0
    return Copy.objects.filter(story_id=story.pk).count(), readers, flood


def flood(pixel, story, ip=lambda n: "198.51.100.7", user_agent=lambda n: BROWSER):
    path = pixel_path(story.pk, "script")
    for n in range(HITS):
        page = quote(f"https://site{n}.example/harbor-cleanup/", safe="")
        response = request(pixel, path, query=f"url={page}", ip=ip(n), user_agent=user_agent(n))
        assert response.status_code == 200


def test_one_address_with_a_new_host_per_hit_counts_at_most_twenty_copies_and_readers(pixel, story):
    flood(pixel, story)
    count()
    copies, readers, flooded = counted(story)
    assert copies <= 20 and readers <= 20
    assert flooded == HITS - copies
    assert Hit.objects.filter(filtered=filters.COPY_FLOOD).count() == HITS - 20


def test_a_new_browser_per_hit_from_one_block_counts_at_most_the_block_cap(pixel, story):
    flood(pixel, story, ip=lambda n: f"198.51.100.{n % 250 + 1}", user_agent=lambda n: f"{BROWSER} Build/{n}")
    count()
    copies, readers, flooded = counted(story)
    assert copies <= 200 and readers <= 200
    assert flooded == HITS - copies


def test_the_block_is_a_slash_48_in_ipv6(pixel, story):
    path = pixel_path(story.pk, "script")
    for n in range(300):
        request(pixel, path, query=f"url=https%3A%2F%2Fsite{n}.example%2F", ip=f"2001:db8:7:{n:x}::1",
                user_agent=f"{BROWSER} Build/{n}")
    assert Hit.objects.filter(filtered="").count() == 200


@pytest.mark.parametrize("interface", ["wsgi", "rsgi"])
def test_a_reader_of_the_story_on_three_partner_sites_counts_three_times(tmp_path, story, interface):
    pixel = inline_pixel(interface, tmp_path / "journal")
    path = pixel_path(story.pk, "script")
    for _ in range(2):  # and again: pages already seen pass as before
        for site in ("gazette", "courier", "tribune"):
            request(pixel, path, query=f"url=https%3A%2F%2F{site}.example%2Fharbor%2F", ip="198.51.100.7")
    assert not Hit.objects.exclude(filtered="").exists()
    count()
    assert counted(story) == (3, 3, 0)


def test_pages_already_seen_pass_once_the_cap_is_reached(pixel, story):
    path = pixel_path(story.pk, "script")
    for n in [*range(25), 3, 24]:
        request(pixel, path, query=f"url=https%3A%2F%2Fsite{n}.example%2F")
    filtered = list(Hit.objects.order_by("id").values_list("filtered", flat=True))
    assert filtered == [""] * 20 + [filters.COPY_FLOOD] * 5 + ["", filters.COPY_FLOOD]


def test_the_cap_is_per_story_and_per_utc_day():
    cap = filters.CopyCap(per_reader=2, per_block=3)
    day = timezone.now().date()
    assert [cap.allow("198.51.100.7", "b", 1, f"https://s{n}.example/", day) for n in range(3)] == [True, True, False]
    assert cap.allow("198.51.100.7", "b", 2, "https://s9.example/", day)  # another story
    assert cap.allow("198.51.100.8", "b", 1, "https://s9.example/", day)  # another reader, same block: 3rd
    assert not cap.allow("198.51.100.9", "b", 1, "https://s8.example/", day)  # the block's 4th
    assert cap.allow("198.51.100.7", "b", 1, "https://s5.example/", day + timedelta(days=1))


def test_the_cap_forgets_everything_past_its_size_and_then_counts():
    cap = filters.CopyCap(per_reader=2, per_block=0, max_copies=10)
    day = timezone.now().date()
    for n in range(11):
        assert cap.allow(f"198.51.{n}.1", "b", 1, "https://s.example/", day)
    assert cap._size == 0
    assert cap.allow("198.51.100.7", "b", 1, "https://s1.example/", day)


@pytest.mark.parametrize("ip,block", [
    ("198.51.100.7", "198.51.100"),
    ("2001:db8:7:1::1", bytes.fromhex("20010db80007")),
    ("::ffff:198.51.100.7", "198.51.100"),
    ("127.0.0.1", None), ("10.1.2.3", None), ("192.168.1.1", None), ("172.20.0.1", None), ("::1", None),
    ("fd00::1", None), ("fe80::1%eth0", None),
    ("172.32.0.1", "172.32.0"), ("not an address", "not an address"),
])
def test_address_blocks(ip, block):
    assert filters.address_block(ip) == block
