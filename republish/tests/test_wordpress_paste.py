"""The handout pasted into WordPress by every role through every editor: the pixel survives as our image,
1x1 wherever a style survives, and the verifier says what each way in costs. (WordPress is simulated by
republish/tests/wordpress.py; the last tests check the simulation itself against the facts it encodes.)"""

import lxml.html
import pytest
from wagtail.rich_text import RichText

from republish.handout import PIXEL_STYLE, build_handout
from stories.factories import AuthorFactory, StoryPageFactory
from tracking.pixel import GIF
from verify.checks import STYLE_REMOVED, check_pixel, style_declarations
from verify.original import original_for
from verify.page import CopyPage

from .wordpress import (
    EDITORS,
    ROLES,
    block_editor_paste,
    kses_author,
    safecss_filter_attr,
    save_as,
    wordpress_page,
)

pytestmark = pytest.mark.django_db

TITLE = "Council passes the harbor budget"
PERMALINK = "https://tidewater.example/2026/05/04/council-passes-the-harbor-budget/"
PRESENT = "Pixel present, signed for this story and visible"
SITE_ONLY = "counted by site only: the referrer policy was removed"
# The pixel as handouts carried it before WordPress was taken into account.
OLD_PIXEL = (
    '<img src="{}" alt="" width="1" height="1" loading="eager" decoding="async" '
    'referrerpolicy="no-referrer-when-downgrade" style="width:1px!important;height:1px!important;'
    "max-width:1px!important;max-height:1px!important;min-width:1px!important;min-height:1px!important;"
    "border:0!important;margin:0!important;padding:0!important;box-shadow:none!important;outline:none!important;"
    'display:inline!important;visibility:visible!important;position:static!important">'
)

# What each way into WordPress leaves of the pixel's attributes, and what the verifier must say it costs.
PASTED = ({"src", "alt"}, [SITE_ONLY, STYLE_REMOVED])  # an image block: src and alt, nothing else
FILTERED = ({"src", "alt", "loading", "style"}, [SITE_ONLY])  # kses: referrerpolicy gone, the style whole
WHOLE = ({"src", "alt", "loading", "referrerpolicy", "style"}, [])  # unfiltered_html: as pasted
WHAT_WORDPRESS_LEAVES = {
    ("contributor", "block-paste"): PASTED, ("contributor", "custom-html"): FILTERED,
    ("contributor", "code"): FILTERED, ("contributor", "classic"): FILTERED,
    ("author", "block-paste"): PASTED, ("author", "custom-html"): FILTERED,
    ("author", "code"): FILTERED, ("author", "classic"): FILTERED,
    ("editor", "block-paste"): PASTED, ("editor", "custom-html"): WHOLE,
    ("editor", "code"): WHOLE, ("editor", "classic"): WHOLE,
    ("administrator", "block-paste"): PASTED, ("administrator", "custom-html"): WHOLE,
    ("administrator", "code"): WHOLE, ("administrator", "classic"): WHOLE,
}


@pytest.fixture
def story(news):
    return StoryPageFactory(
        parent=news, title=TITLE, dateline_place="PORT ALDER", authors=[AuthorFactory(name="Rosa Delgado")],
        body=[
            ("paragraph", RichText('<p>The council voted 5-2 on Tuesday. <a href="https://example.org/minutes">'
                                   "The minutes</a> are online.</p>")),
            ("heading", "What comes next"),
            ("paragraph", RichText("<ul><li>A second reading</li><li>A referendum</li></ul>")),
            ("quote", {"text": "We will be back.", "attribution": "A tenant"}),
        ],
    )


@pytest.fixture
def handout(story, policy):
    return build_handout(story, policy)


@pytest.fixture
def original(story, policy):
    return original_for(story, policy)


def copy_page(handout, role, editor, **options):
    html = wordpress_page(TITLE, save_as(role, handout.html, editor, **options), PERMALINK)
    return CopyPage(html, PERMALINK)


def the_pixel(page, handout):
    (img,) = [element for url, _, element in page.images if url == handout.pixel_url]
    return img


def test_every_role_and_editor_is_covered():
    assert set(WHAT_WORDPRESS_LEAVES) == {(role, editor) for role in ROLES for editor in EDITORS}


@pytest.mark.parametrize("role, editor", list(WHAT_WORDPRESS_LEAVES))
def test_the_pixel_survives_every_way_into_wordpress_and_the_verifier_says_what_it_costs(
        handout, original, role, editor):
    attributes, costs = WHAT_WORDPRESS_LEAVES[role, editor]
    page = copy_page(handout, role, editor)
    img = the_pixel(page, handout)
    assert set(img.attrib) == attributes
    if "style" in attributes:
        assert img.get("style") == PIXEL_STYLE
        sizes = style_declarations(img.get("style"))
        assert (sizes["width"], sizes["height"], sizes["max-width"], sizes["max-height"]) == ("1px",) * 4
    result = check_pixel(original, page)
    assert result.ok is True
    assert result.evidence["costs"] == costs
    assert result.summary == "; ".join([PRESENT, *costs])


def test_on_a_multisite_network_editors_posts_go_through_kses_too(handout, original):
    page = copy_page(handout, "editor", "custom-html", multisite=True)
    assert set(the_pixel(page, handout).attrib) == FILTERED[0]
    assert check_pixel(original, page).evidence["costs"] == [SITE_ONLY]


def test_in_a_browser_the_pixel_loads_as_one_pixel_and_sends_what_the_verifier_said(handout, browser_page):
    """Chromium renders each way's page with the theme's image rules: the pixel is requested, is at most
    1x1, and its Referer is the full address where no cost was named and only the site where "counted by
    site only" was."""
    page, served, requests = browser_page, {}, []
    page.route("https://tidewater.example/**", lambda route: route.fulfill(
        content_type="text/html; charset=utf-8", body=served["html"]))
    page.route("**/pixel/**", lambda route: (requests.append(route.request), route.fulfill(
        status=200, content_type="image/gif", body=GIF)))
    for (role, editor), (_, costs) in WHAT_WORDPRESS_LEAVES.items():
        served["html"] = wordpress_page(TITLE, save_as(role, handout.html, editor), PERMALINK)
        requests.clear()
        page.goto(PERMALINK)
        page.wait_for_function("Array.from(document.images).every(image => image.complete)")
        box = page.evaluate(f"""(() => {{
            const img = Array.from(document.images).find(image => image.src === {handout.pixel_url!r});
            const rect = img.getBoundingClientRect();
            return [img.naturalWidth, rect.width, rect.height];
        }})()""")
        assert box[0] == 1 and box[1] <= 1 and box[2] <= 1, (role, editor, box)
        (request,) = requests
        referrer = request.header_value("referer")
        assert referrer == ("https://tidewater.example/" if SITE_ONLY in costs else PERMALINK), (role, editor)


# the simulation bites -------------------------------------------------------------------------------------

def test_the_block_editor_drops_the_old_pixel_as_a_tracker(handout):
    old = handout.html.replace(handout.html[handout.html.index("<img"):handout.html.index(">", handout.html.index(
        "<img")) + 1], OLD_PIXEL.format(handout.pixel_url))
    assert OLD_PIXEL.format(handout.pixel_url) in old
    assert handout.pixel_url not in block_editor_paste(old)
    assert handout.pixel_url in block_editor_paste(handout.html)


def test_kses_takes_the_old_pixels_referrer_policy_and_the_style_it_does_not_allow(handout):
    (img,) = lxml.html.fragment_fromstring(kses_author(OLD_PIXEL.format(handout.pixel_url))).iter("img")
    assert "referrerpolicy" not in img.attrib and "decoding" not in img.attrib
    assert (img.get("width"), img.get("height"), img.get("loading")) == ("1", "1", "eager")
    kept = style_declarations(img.get("style"))
    assert not {"display", "outline", "visibility"} & set(kept)
    assert {"width", "height", "max-width", "max-height", "border", "margin", "padding"} <= set(kept)


def test_the_block_editor_drops_any_image_the_dom_reads_as_one_pixel_wide_or_high():
    for markup in ('<img src="a.gif" width="1">', '<img src="a.gif" height="1px">', '<img src="a.gif" width="1.9">',
                   '<img src="a.gif" width=" 01" height="40">'):
        assert "a.gif" not in block_editor_paste(markup), markup
    for markup in ('<img src="a.gif" width="2" height="2">', '<img src="a.gif" style="width:1px;height:1px">'):
        assert block_editor_paste(markup) == '<figure class="wp-block-image"><img src="a.gif" alt=""></figure>'


def test_the_block_editor_keeps_no_comment_script_noscript_or_style():
    pasted = block_editor_paste('<p>One</p><!-- note --><script>count()</script><noscript><img src="b.gif">'
                                '</noscript><style>p{color:red}</style><p style="color:red">Two</p>')
    assert pasted == "<p>One</p><p>Two</p>"


def test_the_block_editor_keeps_an_image_among_text_inline_without_its_style():
    assert block_editor_paste('<p>See <img src="a.gif" style="width:5px" loading="lazy" width="5"> here</p>') == (
        '<p>See <img src="a.gif" width="5"> here</p>')


def test_kses_keeps_only_wordpresss_safe_css():
    style = ("display:none;visibility:hidden;opacity:0;outline:0;clip:rect(0 0 0 0);clip-path:inset(50%);"
             "width:2px!important;max-width:calc(1px + 1px);margin:0;background:url(javascript:alert(1));"
             "WIDTH:3px;color:red")
    assert safecss_filter_attr(style) == "width:2px!important;max-width:calc(1px + 1px);margin:0;color:red"


def test_kses_keeps_comments_squeezing_their_dashes_and_leaves_a_scripts_code_as_text():
    assert kses_author("<!-- a -- b --><script>count()</script><p onclick=\"x()\">p</p>") == (
        "<!-- a - b -->count()<p>p</p>")


def test_kses_takes_an_image_out_of_noscript_and_unsafe_schemes_off_addresses():
    assert kses_author('<noscript><img src="javascript:alert(1)" alt="x"></noscript>') == (
        '<img src="alert(1)" alt="x">')


def test_the_themes_page_has_wordpresss_head_and_the_post_in_its_entry_content(handout):
    page = CopyPage(wordpress_page(TITLE, handout.html, PERMALINK), PERMALINK)
    assert page.rel_links("canonical") == [(PERMALINK, True)]
    assert page.metas("robots") == [("robots", "max-image-preview:large", True)]
    assert page.root.findtext(".//title") == f"{TITLE} – The Tidewater Tribune"
    (content,) = page.root.xpath("//article/div[@class='entry-content']")
    assert the_pixel(page, handout).getparent() is content
    assert "img { max-width: 100%; height: auto; }" in page.root.findtext(".//style")
