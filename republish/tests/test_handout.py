"""The copy-ready handout: what a partner pastes, and what it must never contain."""

import json
import re
from html.parser import HTMLParser

import pytest
from wagtail.rich_text import RichText

from images.factories import BylineImageFactory
from republish import pixel
from republish.handout import PIXEL_STYLE, build_handout
from stories.factories import AuthorFactory, StoryPageFactory
from verify.checks import style_declarations

from .wordpress import SAFE_CSS

pytestmark = pytest.mark.django_db


class Elements(HTMLParser):
    """Tags, attributes and comments of an HTML fragment."""

    def __init__(self, html):
        super().__init__()
        self.tags, self.comments = [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_comment(self, data):
        self.comments.append(data)

    def named(self, name):
        return [attrs for tag, attrs in self.tags if tag == name]


@pytest.fixture
def story(news, site):
    image = BylineImageFactory(credit="Getty Images")
    return StoryPageFactory(
        parent=news, title="Council passes the budget", dateline_place="PORT ALDER", lead_image=image,
        authors=[AuthorFactory(name="Rosa Delgado"), AuthorFactory(name="Sam Ortiz")],
        body=[
            ("paragraph", RichText(
                '<p>The council <b>voted</b> on <i>Tuesday</i>. <a href="https://example.org/minutes">Minutes</a> '
                f'and <a linktype="page" id="{news.pk}">more news</a>.</p>'
            )),
            ("heading", "What comes next"),
            ("paragraph", RichText("<ul><li>A second reading</li><li>A referendum</li></ul><ol><li>One</li></ol>")),
            ("quote", {"text": "We will be back.", "attribution": "A tenant"}),
            ("image", {"image": image, "caption": "A crowd"}),
            ("embed", None),
        ],
    )


def test_handout_opens_with_headline_byline_with_outlet_and_date(story, policy):
    html = build_handout(story, policy).html
    assert html.startswith(
        "<h1>Council passes the budget</h1>\n<p>By Rosa Delgado and Sam Ortiz, Byline Newsroom</p>\n<p>"
    )
    assert story.published_at.strftime("%Y") in html.split("\n")[2]


def test_handout_credits_the_original_at_top_and_bottom_with_the_license(story, policy):
    html = build_handout(story, policy).html
    top = f'<p><em>This story was originally published by <a href="{story.full_url}">Byline Newsroom</a>.</em></p>'
    bottom = (f'<p><em>This story was originally published by <a href="{story.full_url}">Byline Newsroom</a> and is '
              'republished here under <a href="https://creativecommons.org/licenses/by-nd/4.0/">CC BY-ND 4.0</a>.'
              '</em></p>')
    assert top in html and html.endswith(bottom)
    assert html.index(top) < html.index("The council")


def test_handout_keeps_paragraph_formatting_and_the_dateline(story, policy):
    html = build_handout(story, policy).html
    assert "<p><strong>PORT ALDER —</strong> The council <b>voted</b> on <i>Tuesday</i>." in html
    assert "<h2>What comes next</h2>" in html
    assert "<ul><li>A second reading</li><li>A referendum</li></ul><ol><li>One</li></ol>" in html
    assert "<blockquote><p>We will be back.</p><p>— A tenant</p></blockquote>" in html


def test_handout_keeps_every_link_and_makes_them_absolute(story, policy):
    links = [attrs["href"] for attrs in Elements(build_handout(story, policy).html).named("a")]
    assert "https://example.org/minutes" in links
    assert "http://testserver/news/" in links
    assert all(link.startswith(("http://", "https://")) for link in links)


def test_handout_never_carries_images_embeds_styles_classes_or_links_of_ours(story, policy):
    elements = Elements(build_handout(story, policy).html)
    images = elements.named("img")
    assert len(images) == 1 and "/pixel/" in images[0]["src"]  # the pixel is the only image
    tags = {tag for tag, _ in elements.tags}
    assert not tags & {"figure", "figcaption", "iframe", "script", "form", "style", "link", "div", "span"}
    for tag, attrs in elements.tags:
        assert "class" not in attrs
        if tag != "img":
            assert "style" not in attrs
    assert "A crowd" not in build_handout(story, policy).html  # no caption
    assert elements.comments == [
        " Tracking image from Byline Newsroom: please do not remove. It counts readers of this story and stores no "
        "cookies or personal data. "
    ]


def test_pixel_is_early_eager_and_one_pixel_by_its_style_alone(story, policy):
    handout = build_handout(story, policy)
    (img,) = Elements(handout.html).named("img")
    assert handout.html.index("<img") < handout.html.index("The council")
    assert img["src"] == handout.pixel_url == f"http://testserver/pixel/{story.pk}/html/{pixel.sign(story.pk)}.gif"
    assert img["alt"] == "" and img["loading"] == "eager"
    # A width or height of 1 makes WordPress's block editor drop the image as a tracker when pasted.
    assert "width" not in img and "height" not in img
    sizes = style_declarations(img["style"])
    assert {name: sizes[name] for name in ("width", "height", "max-width", "max-height", "min-width", "min-height")} \
        == dict.fromkeys(("width", "height", "max-width", "max-height", "min-width", "min-height"), "1px")
    assert (sizes["border"], sizes["margin"], sizes["padding"]) == ("0", "0", "0")


def test_pixel_style_is_made_only_of_what_wordpress_keeps_for_authors(story, policy):
    (img,) = Elements(build_handout(story, policy).html).named("img")
    assert set(style_declarations(img["style"])) <= SAFE_CSS
    assert all(declaration.endswith("!important") for declaration in img["style"].split(";"))


def test_pixel_asks_for_the_full_referrer_as_a_bonus_nothing_depends_on(story, policy):
    (img,) = Elements(build_handout(story, policy).html).named("img")
    assert img["referrerpolicy"] == "no-referrer-when-downgrade"
    assert "decoding" not in img  # kses drops it, and a one-pixel image has nothing to decode asynchronously


def test_pixel_signature_rejects_forged_ids(story):
    assert pixel.is_valid(story.pk, pixel.sign(story.pk))
    assert not pixel.is_valid(story.pk + 1, pixel.sign(story.pk))
    assert not pixel.is_valid("not-a-number", "0" * pixel.SIGNATURE_LENGTH)
    assert re.fullmatch(r"/pixel/\d+/text/[0-9a-f]{16}\.gif", pixel.pixel_path(story.pk, "text"))


def test_head_snippet_has_canonical_and_noindex_only_as_the_policy_asks(story, policy):
    assert build_handout(story, policy).head == (
        f'<link rel="canonical" href="{story.full_url}">\n<meta name="robots" content="noindex">'
    )
    policy.require_noindex = False
    assert build_handout(story, policy).head == f'<link rel="canonical" href="{story.full_url}">'


def test_credit_wording_and_license_come_from_the_policy(story, policy):
    policy.license = "none"
    policy.bottom_credit = "Republished {license} from {outlet} <b>today</b>."
    html = build_handout(story, policy).html
    assert html.endswith(f'<p><em>Republished with permission from <a href="{story.full_url}">Byline Newsroom</a> '
                         "&lt;b&gt;today&lt;/b&gt;.</em></p>")


def test_plain_text_version_keeps_words_credits_and_link_addresses(story, policy):
    text = build_handout(story, policy).text
    assert text.startswith("Council passes the budget\n\nBy Rosa Delgado and Sam Ortiz, Byline Newsroom\n\n")
    assert "PORT ALDER — The council voted on Tuesday. Minutes (https://example.org/minutes)" in text
    assert "• A second reading" in text
    assert f"This story was originally published by Byline Newsroom ({story.full_url})." in text
    assert "<" not in text and "pixel" not in text


def test_the_optional_script_carries_the_script_pixel_and_nothing_that_ends_it_early(story, policy):
    handout = build_handout(story, policy)
    assert handout.script.startswith("<script>") and handout.script.endswith("</script>")
    assert handout.script.count("</") == 1
    assert f'"http://testserver/pixel/{story.pk}/script/{pixel.sign(story.pk)}.gif" + "?url="' in handout.script
    assert "encodeURIComponent(location.href)" in handout.script


def test_the_scripts_image_has_the_htmls_style_and_no_size_attributes(story, policy):
    script = build_handout(story, policy).script
    assert "new Image()" in script
    assert json.dumps(PIXEL_STYLE) in script
