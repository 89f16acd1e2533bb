"""The reader's story page: every element a nonprofit newsroom's article page shows, in order."""

import re
from datetime import date

import pytest
from wagtail.rich_text import RichText

from images.factories import BylineImageFactory
from stories.factories import AuthorFactory, CorrectionFactory, OriginFactory, SectionPageFactory, StoryPageFactory
from stories.models import Origin

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(news):
    author = AuthorFactory(name="Rosa Delgado", role="a senior reporter", email="rosa@ledger.example",
                           social_handle="rosadelgado", pronoun="her")
    image = BylineImageFactory(credit="Getty Images", default_caption="A crowd at City Hall.")
    story = StoryPageFactory(parent=news, title="Council passes the budget", dek="A late vote.",
                             lead_image=image, dateline_place="PORT ALDER", authors=[author])
    CorrectionFactory(story=story, date=date(2026, 11, 20), text="<p>The vote was 5-2, not 6-1.</p>")
    return story


def assert_in_order(html, *needles):
    """Each needle appears in the page's main content after the one before it."""
    position = html.index("<main")
    for needle in needles:
        found = html.find(needle, position)
        assert found >= 0, f"{needle!r} missing or out of order"
        position = found + len(needle)


def test_story_page_shows_every_element_in_the_newsroom_order(client, story, support, news, home):
    other = SectionPageFactory(parent=home, title="Culture", slug="culture")
    for n in range(5):
        StoryPageFactory(parent=other, title=f"Culture story {n}")
    html = client.get(story.url).content.decode()
    assert_in_order(
        html,
        'class="kicker"><a href="/news/">News</a>',
        "<h1", "Council passes the budget",
        "A late vote.",
        "A crowd at City Hall.", "Image by Getty Images",
        "By <span", "Rosa Delgado",
        "PORT ALDER —",
        "The council voted on Tuesday.",
        "Corrections", "The vote was 5-2, not 6-1.",
        "is a senior reporter",
        "Keep the Bay Coast informed", "Miriam Okafor",
        "Most Popular",
        "In Case You Missed It",
        "Wear the Ledger",
    )


def test_own_story_dateline_has_no_origin_and_opens_the_first_paragraph(client, story):
    html = client.get(story.url).content.decode()
    assert '<p><span class="dateline">PORT ALDER —</span> The council voted' in html


def test_wire_story_dateline_names_its_origin(client, news):
    jta = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA", kind=Origin.WIRE)
    story = StoryPageFactory(parent=news, dateline_place="JERUSALEM", origin=jta)
    html = client.get(story.url).content.decode()
    assert '<p><span class="dateline">JERUSALEM (JTA) —</span> The council voted' in html


def test_author_bio_reads_as_a_sentence_with_handle(client, story):
    html = client.get(story.url).content.decode()
    assert re.search(r"Rosa Delgado</strong> is a senior reporter\. Email her at <span class=\"protected-email\"", html)
    assert 'or follow her on X at <a href="https://x.com/rosadelgado" rel="noopener">@rosadelgado</a>' in html


def test_author_email_never_appears_in_the_html_source(client, story):
    html = client.get(story.url).content.decode()
    assert "rosa@ledger.example" not in html
    assert "mailto:" not in html
    assert "[email address hidden: turn on JavaScript to see it]" in html


def test_ranked_lists_hold_four_stories_and_missed_ones_come_from_other_sections(client, story, news, home):
    culture = SectionPageFactory(parent=home, title="Culture", slug="culture")
    for n in range(6):
        StoryPageFactory(parent=news, title=f"News story {n}")
        StoryPageFactory(parent=culture, title=f"Culture story {n}")
    response = client.get(story.url)
    popular, missed = response.context["most_popular"], response.context["missed"]
    assert len(popular) == 4 and story not in popular
    assert len(missed) == 4
    assert all(item.section.title == "Culture" for item in missed)
    assert not set(popular) & set(missed)
    html = response.content.decode()
    assert html.count('<span class="kicker">Culture</span>') == 4


def test_story_page_is_free_to_read_with_no_login_and_may_be_cached(client, story):
    response = client.get(story.url)
    assert response.status_code == 200
    assert "public" in response["Cache-Control"] and "s-maxage" in response["Cache-Control"]
    assert not response.cookies


def test_hostile_body_html_never_reaches_the_page(client, news):
    story = StoryPageFactory(parent=news, body=[("paragraph", RichText(
        '<p>Hi<script>alert(1)</script><a href="javascript:alert(2)">x</a><img src=x onerror=alert(3)></p>'))])
    html = client.get(story.url).content.decode()
    body = html[html.index('class="story__body"'):html.index("</article>")]
    assert "<script>alert(1)" not in body and "javascript:" not in body and "onerror" not in body


def test_drafts_are_not_served(client, news):
    story = StoryPageFactory(parent=news, live=False)
    assert client.get(f"/news/{story.slug}/").status_code == 404
