"""What a faithful copy must match: the handout we give partners (`republish.handout.build_handout`) and, for
the pictures the handout leaves out, the story page's images.

Built once per story and reused for every copy of it, so checking many copies costs only their parsing.
"""

import copy
import posixpath
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from republish.handout import build_handout, byline_text, credit_line
from republish.models import CANONICAL_IN_BODY, RepublishingPolicy
from stories.models import NewsroomSettings

from .page import extract_blocks, parse_html
from .text import link_key, norm


@dataclass(frozen=True)
class OriginalImage:
    title: str
    names: frozenset  # file names of the original and of every rendition made of it
    stem: str  # the original's file name without extension, as uploads and renditions keep it


@dataclass
class Original:
    story_id: int
    headline: str
    canonical_url: str
    outlet: str
    authors: list
    byline: str
    date: str
    credits: list  # plain text of the top and bottom credit lines
    credit_links: list  # absolute hrefs in the credit lines (the original, the license)
    links: list  # absolute hrefs of the story body, in order, without duplicates
    paragraphs: list  # the body's blocks (paragraphs, headings, list items, quotes) as text
    images: list
    our_hosts: frozenset
    require_canonical: bool
    require_noindex: bool
    keys: list = field(default_factory=list)  # norm() of each paragraph
    canonical_in_body: bool = False  # a canonical link in the body is accepted too (a partner site's rule)
    site_rule: str = ""  # the host of the partner site rule the copy is judged by; "" for the policy's own
    words: list = field(default_factory=list)  # norm() words of each paragraph
    notes: list = field(default_factory=list)  # the handout's "Correction (date): ..." lines, above the credit

    def __post_init__(self):
        self.keys = [norm(text) for text in self.paragraphs]
        self.words = [key.split() for key in self.keys]
        self.canonical_key = link_key(self.canonical_url)
        self.link_keys = [link_key(url) for url in self.links]
        self.headline_key = norm(self.headline)
        self.credit_keys = [norm(text) for text in self.credits]
        self.known_keys = ({self.headline_key, norm(self.byline), norm(self.date)} | set(self.credit_keys)
                           | {norm(text) for text in self.notes})
        self.known_keys.discard("")

    def for_site(self, rules):
        """This original as one partner site's copies are judged: `rules` is the policy's
        `SiteRules` for its host. A shallow copy, so the story's parsed text is shared, not built again."""
        if not rules.host:
            return self
        judged = copy.copy(self)
        judged.require_canonical = rules.require_canonical
        judged.canonical_in_body = rules.canonical == CANONICAL_IN_BODY
        judged.require_noindex = rules.noindex
        judged.site_rule = rules.host
        return judged


def image_may_travel(image):
    """Whether partners may reuse this picture. Byline records no reuse right for images yet, so none may;
    a `may_republish` field on the image model would be honoured here."""
    return bool(getattr(image, "may_republish", False))


def story_images(story):
    images = []
    if story.lead_image_id:
        images.append(story.lead_image)
    for block in story.body:
        if block.block_type == "image" and block.value and block.value.get("image"):
            images.append(block.value["image"])
    seen, result = set(), []
    for image in images:
        if image.pk in seen or image_may_travel(image):
            continue
        seen.add(image.pk)
        names = {posixpath.basename(image.file.name)}
        names.update(posixpath.basename(r.file.name) for r in image.renditions.all())
        stem = posixpath.splitext(posixpath.basename(image.file.name))[0]
        result.append(OriginalImage(title=image.title, names=frozenset(n.lower() for n in names), stem=stem.lower()))
    return result


def original_for(story, policy=None):
    site = story.get_site()
    policy = policy or RepublishingPolicy.for_site(site)
    handout = build_handout(story, policy)
    outlet = NewsroomSettings.for_site(site).outlet_name
    blocks = extract_blocks(parse_html(handout.html))
    texts = [block.text for block in blocks]

    headline = story.title
    byline = byline_text(story, outlet)
    # The handout is: headline, byline, date, pixel, top credit, body, bottom credit. The credit lines are
    # found by their words, made by the same function the handout uses.
    wordings = [credit_line(wording, outlet, handout.canonical_url, policy)
                for wording in (policy.top_credit, policy.bottom_credit)]
    top_text, bottom_text = (extract_blocks(parse_html(f"<p>{html}</p>"))[0].text for html in wordings)
    top = next((i for i, text in enumerate(texts) if text == top_text), None)
    bottom = next((i for i in range(len(texts) - 1, -1, -1) if texts[i] == bottom_text), None)
    if top is None or bottom is None or bottom <= top:  # cannot happen with our handout; stay useful anyway
        top, bottom = min(3, len(texts)), len(texts)
        credit_indexes = []
    else:
        credit_indexes = [top, bottom]
    header = texts[:top]
    date = header[2] if len(header) > 2 else ""
    notes = header[3:]  # the story's corrections, which a copy carries as words of ours, not added text
    body_blocks = blocks[top + 1:bottom] if credit_indexes else blocks[top:]
    credits = list(dict.fromkeys(texts[i] for i in credit_indexes))
    credit_links = list(dict.fromkeys(href for i in credit_indexes for href in blocks[i].links))
    links = list(dict.fromkeys(href for block in body_blocks for href in block.links))

    hosts = {urlsplit(site.root_url).hostname, urlsplit(settings.WAGTAILADMIN_BASE_URL).hostname,
             urlsplit(handout.pixel_url).hostname}
    return Original(
        story_id=story.pk,
        headline=headline,
        canonical_url=handout.canonical_url,
        outlet=outlet,
        authors=[author.name for author in story.authors],
        byline=byline,
        date=date,
        credits=credits,
        notes=notes,
        credit_links=credit_links,
        links=links,
        paragraphs=[block.text for block in body_blocks],
        images=story_images(story),
        our_hosts=frozenset(host.lower() for host in hosts if host),
        require_canonical=policy.require_canonical,
        require_noindex=policy.require_noindex,
    )
