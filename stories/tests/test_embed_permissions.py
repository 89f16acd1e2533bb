"""Issue #17, finding 7: an oEmbed provider's HTML reaches a story page with only the frame permissions a
video player needs, and nothing that runs."""

import lxml.html
import pytest
from wagtail.embeds.embeds import get_embed_hash
from wagtail.embeds.models import Embed

from byline.sanitize import clean_embed
from stories.factories import StoryPageFactory

pytestmark = pytest.mark.django_db

VIDEO = "https://www.youtube.com/watch?v=hostile"
HOSTILE = (
    '<iframe src="https://www.youtube.com/embed/hostile" width="560" height="315" title="Video" '
    'allow="camera; microphone; geolocation; autoplay; usb; payment *; fullscreen \'self\' https://evil.example" '
    'srcdoc="<script>alert(1)</script>" onload="alert(1)" allowpaymentrequest allowusermedia '
    'sandbox="allow-scripts" csp="" allowfullscreen></iframe>'
)


def test_a_story_page_keeps_only_allowed_frame_permissions_and_nothing_that_runs(client, news):
    Embed.objects.create(url=VIDEO, hash=get_embed_hash(VIDEO), html=HOSTILE, type="video", provider_name="YouTube")
    story = StoryPageFactory(parent=news, body=[("embed", VIDEO)])

    html = client.get(story.url).content.decode()

    frames = lxml.html.document_fromstring(html).xpath("//div[@class='embed']//iframe")
    assert len(frames) == 1
    frame = frames[0]
    assert frame.get("src") == "https://www.youtube.com/embed/hostile"
    assert frame.get("allow") == "autoplay; fullscreen"
    assert set(frame.attrib) <= {"src", "width", "height", "title", "allow", "allowfullscreen", "frameborder",
                                 "loading"}
    for word in ("camera", "microphone", "geolocation", "usb", "payment", "evil.example", "srcdoc", "onload",
                 "alert("):
        assert word not in html


@pytest.mark.parametrize("allow, kept", [
    # What YouTube's and Vimeo's oEmbed HTML ask for.
    ("accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share",
     "autoplay; clipboard-write; encrypted-media; picture-in-picture; web-share"),
    ("autoplay; fullscreen; picture-in-picture; clipboard-write",
     "autoplay; fullscreen; picture-in-picture; clipboard-write"),
    ("camera; microphone; geolocation; display-capture; usb; serial; hid; bluetooth; payment", None),
    ("autoplay *; autoplay; ;; fullscreen https://evil.example", "autoplay; fullscreen"),
    ("", None),
])
def test_frame_permissions_are_kept_by_name_from_the_allow_list(allow, kept):
    html = clean_embed(f'<iframe src="https://player.vimeo.com/video/1" allow="{allow}"></iframe>')
    frame = lxml.html.fragment_fromstring(html)
    assert frame.get("allow") == kept
