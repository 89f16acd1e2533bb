"""The text check reads the partner's site around a copy (masthead, menus, breadcrumbs, "Related stories",
sidebar, footer) as their site, not as paragraphs added to our story, while words they put into the story
itself are still reported."""

import pytest

from verify.checks import run_checks
from verify.original import original_for
from verify.page import CopyPage

pytestmark = pytest.mark.django_db

URL = "https://gazette.example/2026/05/council-passes-the-harbor-budget/"
TAGLINE = "Independent news for the people of Lakeside County"
RELATED = ["Related stories on the harbor", "Ferry fares rise again this summer for commuters",
           "School board weighs a four-day week for next fall"]
ABOUT = ["More from the Gazette newsroom", "Our reporters cover Lakeside County every day of the week."]


def wordpress_page(handout, story_html):
    """A WordPress theme of the plain kind that puts the post straight into the page wrapper, beside the
    masthead and the footer, with no element around the post alone: our story's nearest container is then
    the whole page, furniture included."""
    return f"""<!doctype html><html lang="en-US"><head><meta charset="UTF-8">
<title>Council passes the harbor budget – The Partner Gazette</title>{handout.head}
<link rel="stylesheet" id="twentynineteen-style-css" href="/wp-content/themes/gazette/style.css"></head>
<body class="post-template-default single single-post">
<div id="page" class="site">
<div class="site-branding"><p class="site-title"><a href="/" rel="home">The Partner Gazette</a></p>
<p class="site-description">{TAGLINE}</p></div>
<ul id="menu-primary" class="main-menu"><li><a href="/local/">Local news and politics</a></li>
<li><a href="/arts/">Arts and culture this week</a></li></ul>
<div class="breadcrumbs"><a href="/">Home</a> › <a href="/local/">Local news</a> › Harbor and waterfront</div>
<h2 class="entry-kicker">Harbor and waterfront coverage</h2>
{story_html}
<h3 class="section-title">{RELATED[0]}</h3>
<ul><li><a href="/ferry/">{RELATED[1]}</a></li><li><a href="/school/">{RELATED[2]}</a></li></ul>
<h3>{ABOUT[0]}</h3><p>{ABOUT[1]}</p>
<div id="colophon" class="site-info"><p>© 2026 The Partner Gazette. Proudly powered by WordPress and coffee.</p></div>
</div></body></html>"""


@pytest.fixture
def original(story, policy):
    return original_for(story, policy)


def text_check(original, html):
    return run_checks(original, CopyPage(html, URL, {})).checks["text"]


def without_bottom_credit(handout):
    return handout.html[:handout.html.rindex("<p><em>This story was originally published by")]


def test_the_masthead_menu_breadcrumbs_and_their_headings_above_the_story_are_their_site(original, handout):
    text = text_check(original, wordpress_page(handout, handout.html))
    assert text.ok is True, text.summary
    assert text.evidence["added"] == []
    assert {TAGLINE, "Local news and politics", "Arts and culture this week",
            "Home › Local news › Harbor and waterfront", "Harbor and waterfront coverage",
            } <= set(text.evidence["furniture"])


def test_related_stories_and_their_footer_after_the_story_are_their_site_even_without_our_credit(
        original, handout):
    """Without our bottom credit nothing says where our story ends: their own heading after our last
    paragraph does."""
    text = text_check(original, wordpress_page(handout, without_bottom_credit(handout)))
    assert text.ok is True, text.summary
    assert text.summary == "Text unaltered (similarity 100%)"
    assert text.evidence["added"] == []
    assert [*RELATED, *ABOUT] == [t for t in text.evidence["furniture"] if t in RELATED + ABOUT]


def test_words_they_put_into_the_story_are_still_added(original, handout):
    note = "<p>The Gazette asked the harbor master for comment and will update this story.</p>"
    heading = "<h2>How the vote unfolded on Tuesday</h2>"
    story = handout.html.replace("<h2>What comes next</h2>", note + heading + "<h2>What comes next</h2>")
    text = text_check(original, wordpress_page(handout, story))
    assert text.ok is False
    assert [entry["text"] for entry in text.evidence["added"]] == [
        "The Gazette asked the harbor master for comment and will update this story.",
        "How the vote unfolded on Tuesday",
    ]
    assert text.summary.startswith("Text altered: 2 paragraphs added")


def test_a_related_box_set_inside_the_story_is_their_site_but_a_quote_credit_is_ours(original, handout):
    box = ('<aside class="related-posts"><h4>Read more about the harbor</h4>'
           '<p><a href="/dredging/">Dredging the channel will take three summers</a></p></aside>')
    story = handout.html.replace("<h2>What comes next</h2>", box + "<h2>What comes next</h2>")
    story = story.replace("— A tenant", "— A tenant of the harbor flats")
    text = text_check(original, wordpress_page(handout, story))
    assert "Dredging the channel will take three summers" in text.evidence["furniture"]
    assert [entry["copy"] for entry in text.evidence["changed"]] == ["— A tenant of the harbor flats"]
    assert text.evidence["added"] == []
