"""The handout and /republish/<id>.json carry the story's corrections, dated and in the story page's order, and
its version: a copy made after a correction includes it, and a partner's tool can tell its copy is out of date."""

from datetime import date

import pytest
from django.utils.formats import date_format

import corrections.signals  # noqa: F401  connected by corrections/apps.py in the running site
from republish.factories import RepublishingPolicyFactory
from republish.handout import build_handout
from stories.factories import CorrectionFactory, StoryPageFactory, paragraphs
from stories.models import Correction, StoryPage

pytestmark = pytest.mark.django_db

FIRST, SECOND = date(2026, 5, 4), date(2026, 5, 6)


@pytest.fixture
def policy(site):
    return RepublishingPolicyFactory(site=site)


@pytest.fixture
def story(news, policy):
    story = StoryPageFactory(parent=news, title="Council passes the harbor budget",
                             body=paragraphs("<p>The mayor, Jon Smith, abstained.</p>"))
    story.save_revision().publish()
    return StoryPage.objects.get(pk=story.pk)


def corrected(story):
    page = StoryPage.objects.get(pk=story.pk)
    page.body = paragraphs("<p>The mayor, Jon Smyth, abstained.</p>")
    page.corrections.add(Correction(date=FIRST, sort_order=0, text=(
        '<p>An earlier version misspelled the <a href="https://example.org/mayor">mayor’s</a> name.</p>')))
    page.corrections.add(Correction(date=SECOND, sort_order=1, text="<p>It also gave the wrong <i>day</i>.</p>"))
    page.save_revision().publish()
    return StoryPage.objects.get(pk=story.pk)


def test_the_handout_shows_each_correction_after_the_header_in_order(story, policy):
    handout = build_handout(corrected(story), policy)
    first = (f"<p><strong>Correction ({date_format(FIRST)}):</strong> An earlier version misspelled the "
             '<a href="https://example.org/mayor">mayor’s</a> name.</p>')
    second = f"<p><strong>Correction ({date_format(SECOND)}):</strong> It also gave the wrong <i>day</i>.</p>"
    html = handout.html
    assert first in html and second in html
    assert html.index("<img") < html.index(first) < html.index(second) < html.index("originally published by")
    assert html.index(second) < html.index("Jon Smyth")
    assert (f"Correction ({date_format(FIRST)}): An earlier version misspelled the mayor’s "
            "(https://example.org/mayor) name.") in handout.text
    assert f"Correction ({date_format(SECOND)}): It also gave the wrong day." in handout.text
    assert handout.version == 2
    assert [(note.date, note.text) for note in handout.corrections] == [
        (FIRST, "An earlier version misspelled the mayor’s (https://example.org/mayor) name."),
        (SECOND, "It also gave the wrong day."),
    ]


def test_a_story_without_corrections_has_none_in_its_handout(story, policy):
    handout = build_handout(story, policy)
    assert "Correction" not in handout.html and "Correction" not in handout.text
    assert handout.version == 1 and handout.corrections == ()


def test_a_corrections_words_are_escaped_and_sanitized(story, policy):
    CorrectionFactory(story=story, date=FIRST, text=(
        '<p>Fixed <script>alert(1)</script><b onclick="steal()">the</b> <img src="x" onerror="steal()">'
        '<a href="javascript:steal()">name</a> &lt;em&gt;</p><h2>Big</h2><p>Second part.</p>'))
    html = build_handout(StoryPage.objects.get(pk=story.pk), policy).html
    line = next(line for line in html.split("\n") if "Correction (" in line)
    assert "script" not in line and "onclick" not in line and "onerror" not in line and "javascript" not in line
    assert "<img" not in line and "<h2" not in line
    assert "<b>the</b>" in line and "&lt;em&gt;" in line and "Big Second part.</p>" in line


def test_the_json_carries_the_version_and_the_corrections(client, story):
    data = client.get(f"/republish/{story.pk}.json").json()
    assert data["version"] == 1 and data["corrections"] == []
    corrected(story)
    data = client.get(f"/republish/{story.pk}.json").json()
    assert data["version"] == 2
    assert data["corrections"] == [
        {"date": "2026-05-04", "text": "An earlier version misspelled the mayor’s (https://example.org/mayor) name."},
        {"date": "2026-05-06", "text": "It also gave the wrong day."},
    ]
    assert f"Correction ({date_format(SECOND)}): It also gave the wrong day." in data["text"]
    assert "Correction (" in data["html"]


def test_the_json_of_a_story_that_may_not_travel_still_says_its_version_and_corrections(client, story):
    corrected(story)
    StoryPage.objects.filter(pk=story.pk).update(republishing=StoryPage.REPUBLISH_OFF, republishing_note="Legal.")
    data = client.get(f"/republish/{story.pk}.json").json()
    assert data["eligible"] is False and data["html"] is None
    assert data["version"] == 2 and [c["date"] for c in data["corrections"]] == ["2026-05-04", "2026-05-06"]


def test_the_republish_page_asks_partners_to_replace_an_earlier_version(client, story):
    assert "please replace your copy" not in client.get(f"/republish/{story.pk}/").content.decode()
    corrected(story)
    page = client.get(f"/republish/{story.pk}/").content.decode()
    assert "This is version 2 of the story, with 2 corrections." in page
    assert "Correction (" in page  # in the handout's text areas
