"""The copy-ready handout a partner pastes into its CMS: HTML, a head snippet and a plain-text version.

What goes in: headline, byline with our outlet, dateline, date, the story's corrections ("Correction (date):
text", oldest first), a top credit linking the original, the body with its paragraph formatting
and every link made absolute, a bottom credit with the license, and the tracking pixel. The handout also
carries the story's `version` (1, then one more per published correction or substantive update, kept by
corrections/), so that a partner's tool can tell that its copy is out of date.

What never goes in: images, figures, captions, embeds, scripts, forms, styles or classes of ours, comments
other than the pixel's notice, and `<link>` elements (canonical belongs in the head snippet, where search
engines read it).
"""

import json
import re
from dataclasses import dataclass
from html import escape

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from wagtail.models import Site
from wagtail.rich_text import expand_db_html

from byline.sanitize import clean_html
from stories.models import NewsroomSettings

from . import pixel
from .text import html_to_text

# Hardened so that a partner's theme (img { width: 100% }, borders, padding, shadows) cannot enlarge or frame
# it, and made only of properties on WordPress's safe CSS list (box-shadow since 6.3, the rest for longer), so
# that kses keeps the style for authors without unfiltered_html (docs/republishing.md, "WordPress").
# Counting depends on none of it: where a style is stripped (the block editor's paste keeps none), what is
# left is our transparent 43-byte GIF at its natural size, 1x1. The size is never given as width/height
# attributes: the block editor's paste handler drops any <img> whose width or height is 1, as a tracker.
PIXEL_STYLE = (
    "width:1px!important;height:1px!important;max-width:1px!important;max-height:1px!important;"
    "min-width:1px!important;min-height:1px!important;border:0!important;margin:0!important;"
    "padding:0!important;box-shadow:none!important"
)


@dataclass(frozen=True)
class Note:
    """One correction as the handout and the JSON carry it: its date, its words as sanitized inline HTML (links
    absolute) and as plain text."""

    date: object  # datetime.date
    html: str
    text: str

    def as_json(self):
        return {"date": self.date.isoformat(), "text": self.text}


@dataclass(frozen=True)
class Handout:
    html: str
    head: str
    text: str
    canonical_url: str
    pixel_url: str
    script: str = ""
    version: int = 1
    corrections: tuple = ()  # Note, oldest first


def pixel_html(url, outlet):
    notice = f"<!-- Tracking image from {escape(outlet).replace('--', '- -')}: please do not remove. " \
             "It counts readers of this story and stores no cookies or personal data. -->"
    # referrerpolicy is a bonus where it survives (kses drops it): the copy's full address instead of its site.
    return notice + "\n" + format_html(
        '<img src="{}" alt="" loading="eager" referrerpolicy="no-referrer-when-downgrade" style="{}">',
        url, PIXEL_STYLE,
    ) + "\n"


def pixel_script(url):
    """Optional, for partners whose CMS keeps scripts: the pixel with the page's own address (`?url=`), so the
    copy is known even where no Referer arrives. Beside the HTML's image it adds a hit, never a view: both
    name the same reader and story within the 30 minutes that make one view."""
    def js(value):  # a JavaScript string: JSON, with "<" escaped so that no "</script>" can end the element
        return json.dumps(value).replace("<", "\\u003c")

    # No size in `new Image()`: it would set width/height attributes of 1, which the HTML's image avoids.
    return (
        "<script>(function () {\n"
        "  var img = new Image(), here = document.currentScript;\n"
        '  img.alt = ""; img.referrerPolicy = "no-referrer-when-downgrade";\n'
        f"  img.style.cssText = {js(PIXEL_STYLE)};\n"
        f'  img.src = {js(url)} + "?url=" + encodeURIComponent(location.href);\n'
        "  (here && here.parentNode ? here.parentNode : document.body).appendChild(img);\n"
        "})();</script>"
    )


def credit_line(wording, outlet, canonical_url, policy):
    """An editor's wording with {outlet} and {license} turned into links; the wording itself is escaped."""
    outlet_link = format_html('<a href="{}">{}</a>', canonical_url, outlet)
    if policy.license_name:
        license_link = format_html('<a href="{}">{}</a>', policy.license_url, policy.license_name)
    else:
        license_link = "with permission"
    return escape(wording).replace("{outlet}", outlet_link).replace("{license}", license_link)


def byline_text(story, outlet):
    names = [author.name for author in story.authors]
    if not names:
        return f"By {outlet}"
    people = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"By {people}, {outlet}"


def body_html(story, base_url):
    """The body as plain structural HTML: images and embeds dropped, links absolute, dateline in front."""
    parts = []
    for block in story.body:
        if block.block_type == "paragraph":
            parts.append(clean_html(expand_db_html(block.value.source), base_url=base_url))
        elif block.block_type == "heading":
            parts.append(format_html("<h2>{}</h2>", block.value))
        elif block.block_type == "quote":
            attribution = format_html("<p>— {}</p>", block.value["attribution"]) if block.value["attribution"] else ""
            parts.append(format_html("<blockquote><p>{}</p>{}</blockquote>", block.value["text"], attribution))
    html = "\n".join(parts)
    if story.dateline:
        dateline = format_html("<strong>{}</strong> ", story.dateline)
        if html.startswith("<p>"):
            html = html.replace("<p>", "<p>" + dateline, 1)
        else:
            html = format_html("<p>{}</p>", dateline) + html
    return html


# What a correction's words may keep inside its one paragraph: the rich text's inline formatting and links.
INLINE_TAGS = {"b", "strong", "i", "em", "a"}
_BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|blockquote)\s*>|<br\s*/?>", re.IGNORECASE)


def correction_html(rich_text, base_url):
    """A correction's rich text as inline HTML for one paragraph: sanitized, links absolute, its paragraphs
    run together with a space."""
    html = _BLOCK_END.sub(" ", expand_db_html(rich_text or ""))
    return " ".join(clean_html(html, tags=INLINE_TAGS, base_url=base_url).split())


def correction_text(rich_text, base_url):
    """A correction's rich text as plain text, each link's address in brackets after its words."""
    return " ".join(html_to_text(f"<p>{correction_html(rich_text, base_url)}</p>").split())


def correction_notes(story, base_url):
    """The story's corrections, dated, oldest first (then in the editors' order): the order partners' feeds give
    them everywhere (partners.feeds.corrections), and the story page's whenever editors add them as they come."""
    found = sorted(story.corrections.all(), key=lambda c: (c.date, c.sort_order if c.sort_order is not None else 0))
    return tuple(Note(c.date, correction_html(c.text, base_url), correction_text(c.text, base_url)) for c in found)


def corrections_html(notes):
    return "".join(format_html("<p><strong>Correction ({}):</strong> ", date_format(note.date))
                   + note.html + "</p>\n" for note in notes)


def site_base_url(story, request=None):
    """Our site's address, ending in "/", for the story (the request's site when there is one)."""
    site = Site.find_for_request(request) if request is not None else story.get_site()
    return site.root_url.rstrip("/") + "/"


def head_snippet(canonical_url, policy):
    tags = []
    if policy.require_canonical:
        tags.append(format_html('<link rel="canonical" href="{}">', canonical_url))
    if policy.require_noindex:
        tags.append('<meta name="robots" content="noindex">')
    return "\n".join(tags)


def build_handout(story, policy, request=None, via="html"):
    """The handout for `story`; pass the current request to reuse what it already looked up. `via`: the
    pixel's, e.g. a partner's (`pixel.partner_via`), whose copies then count for that partner."""
    if request is not None:
        site, newsroom = Site.find_for_request(request), NewsroomSettings.for_request(request)
    else:
        site = story.get_site()
        newsroom = NewsroomSettings.for_site(site)
    base_url = site.root_url.rstrip("/") + "/"
    outlet = newsroom.outlet_name
    canonical_url = story.get_full_url(request)
    published = date_format(timezone.localtime(story.published_at)) if story.published_at else ""

    header = format_html("<h1>{}</h1>\n<p>{}</p>\n", story.title, byline_text(story, outlet))
    if published:
        header += format_html("<p>{}</p>\n", published)
    notes = correction_notes(story, base_url)
    # Under the pixel, with the credit and the body: partners who drop our header keep the corrections too.
    corrections = corrections_html(notes)
    top = "<p><em>" + credit_line(policy.top_credit, outlet, canonical_url, policy) + "</em></p>\n"
    bottom = "\n<p><em>" + credit_line(policy.bottom_credit, outlet, canonical_url, policy) + "</em></p>"
    body = body_html(story, base_url)
    pixel_url = pixel.pixel_url(story.pk, via, base_url)
    return Handout(
        # The pixel sits above the story text: partners keep the body even when they drop our header.
        html=header + pixel_html(pixel_url, outlet) + corrections + top + body + bottom,
        head=head_snippet(canonical_url, policy),
        text=html_to_text(header + corrections + top + body + bottom),
        canonical_url=canonical_url,
        pixel_url=pixel_url,
        script=pixel_script(pixel.pixel_url(story.pk, "script", base_url)),
        version=story.version,
        corrections=notes,
    )
