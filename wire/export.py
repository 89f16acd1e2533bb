"""A published story as an IPTC ninjs 2.2 item, for partners' and aggregators' systems.

The body leaves our site the way the republishing handout does (`republish.handout.body_html`): paragraph
formatting and links kept, every link absolute, no image, embed or script; then once more through the one
sanitizer policy. What partners may do with the story is decided in `republish.eligibility`, as everywhere
else; `usageterms` says it in words. Empty properties are left out: the schema rejects some empty values
and consumers read an absent property more reliably than an empty one.
The mapping is written down in docs/ninjs.md ("Export").
"""

import mimetypes
from datetime import UTC
from urllib.parse import urljoin

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import to_locale
from wagtail.models import Site
from wagtail.rich_text import expand_db_html

from byline.sanitize import clean_html
from republish.eligibility import is_republishable
from republish.handout import body_html
from republish.models import RepublishingPolicy
from republish.text import html_to_text
from stories.models import NewsroomSettings

STANDARD = {
    "name": "ninjs",
    "version": "2.2",
    "schema": "http://www.iptc.org/std/ninjs/ninjs-schema_2.2.json",
}
LEAD_IMAGE = "lead-image"
LEAD_IMAGE_RENDITIONS = {"large": "max-1200x1200"}


def story_to_ninjs(story, request=None):
    """The ninjs item for a published `story`; pass the current request to reuse what it looked up."""
    if request is not None:
        site = Site.find_for_request(request)
        newsroom, policy = NewsroomSettings.for_request(request), RepublishingPolicy.for_request(request)
    else:
        site = story.get_site()
        newsroom, policy = NewsroomSettings.for_site(site), RepublishingPolicy.for_site(site)
    base_url = site.root_url.rstrip("/") + "/"
    holder = newsroom.outlet_name if story.is_own else story.origin.name
    authors = [author.name for author in story.authors]
    html = clean_html(body_html(story, base_url), base_url=base_url)

    item = {
        "standard": STANDARD,
        "uri": story.get_full_url(request),
        "type": "text",
        "version": version(story),
        "firstcreated": timestamp(story.first_published_at),
        "versioncreated": timestamp(version_created(story)),
        "pubstatus": "usable",
        "language": to_locale(settings.LANGUAGE_CODE).replace("_", "-"),
        "headlines": [{"role": "main", "value": story.title}],
        "descriptions": (
            ([{"role": "summary", "value": story.dek}] if story.dek else []) + _corrections(story, base_url)
        ),
        "bodies": [
            {"role": "main", "contenttype": "text/html", "value": html},
            {"role": "main", "contenttype": "text/plain", "value": html_to_text(html)},
        ] if html else [],
        "by": names(authors),
        "people": [{"name": name, "rel": "author"} for name in authors],
        "located": story.dateline_place,
        "copyrightholder": holder,
        "copyrightnotice": f"© {timezone.localtime(story.published_at).year} {holder}" if story.published_at else "",
        "usageterms": usage_terms(story, policy, holder, base_url),
        "subjects": [{"name": tag.name} for tag in story.tags.all()],
        "associations": [_picture(story, base_url)] if story.lead_image else [],
    }
    return without_empty(item)


def version(story):
    """The live revision's id: every publication makes a new revision live, so it changes with each one.
    Stories made without revisions (factories, raw imports) are version "0" until first published again."""
    return str(story.live_revision_id or 0)


def version_created(story):
    """When the published version was made: the last publication, or a later "Updated" time editors set."""
    moments = [m for m in (story.last_published_at, story.updated_at, story.first_published_at) if m]
    return max(moments) if moments else None


def names(people):
    """'A', 'A and B', 'A, B and C': how a byline lists its people."""
    if len(people) < 2:
        return "".join(people)
    return ", ".join(people[:-1]) + " and " + people[-1]


def usage_terms(story, policy, holder, base_url):
    """What partners may do with the story, and where to get it ready to paste when they may take it."""
    decision = is_republishable(story, policy)
    if not decision:
        # The reason is the one readers see in the story's Republish box.
        return f"Not for republication. {decision.reason} Rights belong to {holder}."
    republish_url = urljoin(base_url, reverse("republish-page", args=[story.pk]))
    if policy.license_name:
        terms = f"Free to republish under {policy.license_name} ({policy.license_url})."
    else:
        terms = "Free to republish, following our guidelines."
    return f"{terms} Guidelines, credit lines and the copy-ready version: {republish_url}"


def _corrections(story, base_url):
    """Each correction as a publishable description (role "correction"): partners print corrections with
    the story, so they do not belong in ednote, which is for the receiving desk only."""
    return [
        {
            "role": "correction",
            "contenttype": "text/plain",
            "value": f"Correction, {date_format(correction.date)}: " + " ".join(
                html_to_text(clean_html(expand_db_html(correction.text), base_url=base_url)).split()
            ),
        }
        for correction in story.corrections.all()
    ]


def _picture(story, base_url):
    image = story.lead_image
    renditions = image.get_renditions(*LEAD_IMAGE_RENDITIONS.values())
    return {
        "name": LEAD_IMAGE,
        # The original file's address: one picture keeps one uri across every story that uses it.
        "uri": urljoin(base_url, image.file.url),
        "type": "picture",
        "headlines": [{"role": "main", "value": image.title}],
        "descriptions": [{"role": "caption", "value": story.caption}] if story.caption else [],
        "by": image.credit,
        "copyrightholder": image.credit,
        # The handout never carries images and the license covers only the story's words.
        "usageterms": "Not covered by the story's republishing terms: ask the copyright holder for permission.",
        "renditions": [
            {
                "name": name,
                "href": urljoin(base_url, renditions[spec].url),
                "contenttype": mimetypes.guess_type(renditions[spec].file.name)[0] or "",
                "width": renditions[spec].width,
                "height": renditions[spec].height,
            }
            for name, spec in LEAD_IMAGE_RENDITIONS.items()
        ],
    }


def timestamp(moment):
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if moment else ""


def without_empty(value):
    if isinstance(value, dict):
        cleaned = {key: without_empty(item) for key, item in value.items()}
        return {key: item for key, item in cleaned.items() if item not in ("", [], {}, None)}
    if isinstance(value, list):
        return [without_empty(item) for item in value]
    return value
