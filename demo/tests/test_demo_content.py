"""`manage.py load_demo`: a believable newsroom in one command, safe to run again over an editor's work."""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.utils import timezone
from wagtail.models import Collection, Revision

from appeals.models import SupportSettings
from images.models import BylineImage
from stories.models import Author, Correction, HomePage, NewsroomSettings, Origin, SectionPage, StoryPage

pytestmark = pytest.mark.django_db

SECTIONS = ["News", "Fast Forward", "Opinion", "Culture", "Sports", "Communications"]


def load_demo(*args):
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def demo(site):
    return load_demo("--no-admin")


def content_counts():
    return {
        model.__name__: model.objects.count()
        for model in (StoryPage, SectionPage, Author, Origin, BylineImage, Correction, Revision, get_user_model())
    }


def test_creates_at_least_sixteen_live_stories(demo):
    stories = StoryPage.objects.live().public()
    assert stories.count() >= 16
    assert stories.count() == StoryPage.objects.count()
    assert re.search(rf"Demo content: {stories.count()} new stories", demo)


def test_stories_spread_across_the_six_sections_in_the_menu(demo, home):
    sections = SectionPage.objects.child_of(home).live()
    assert sorted(section.title for section in sections) == sorted(SECTIONS)
    assert all(section.show_in_menus for section in sections)
    for section in sections:
        assert section.stories().exists(), f"{section.title} has no stories"


def test_authors_have_bios_and_handles(demo):
    complete = Author.objects.exclude(bio="").exclude(social_handle="").exclude(role="")
    assert complete.count() >= 5
    assert all(not author.social_handle.startswith("@") for author in complete)
    used = {author.pk for story in StoryPage.objects.all() for author in story.authors}
    assert len(used) >= 5
    assert all(story.authors for story in StoryPage.objects.all())


def test_wire_and_partner_stories_come_from_their_origins(demo):
    wire = StoryPage.objects.filter(origin__kind=Origin.WIRE)
    partner = StoryPage.objects.filter(origin__kind=Origin.PARTNER)
    assert wire.count() == 3
    assert wire.values("origin").distinct().count() == 2
    assert partner.count() == 1
    assert StoryPage.objects.filter(origin__isnull=True).count() == StoryPage.objects.count() - 4


def test_wire_story_page_shows_the_agency_in_its_dateline(demo, client):
    story = StoryPage.objects.filter(origin__kind=Origin.WIRE).exclude(dateline_place="").first()
    html = client.get(story.url).content.decode()
    assert f'<span class="dateline">{story.dateline_place} ({story.origin.label}) —</span>' in html


def test_every_story_has_a_lead_image_with_caption_and_credit(demo, client):
    for story in StoryPage.objects.select_related("lead_image"):
        assert story.lead_image is not None, story.slug
        assert story.caption and story.lead_image.credit, story.slug
    story = StoryPage.objects.first()
    html = client.get(story.url).content.decode()
    assert story.caption in html
    assert f"Image by {story.lead_image.credit}" in html


def test_lead_images_are_in_the_root_collection_like_an_editors_upload(demo):
    assert set(BylineImage.objects.values_list("collection", flat=True)) == {Collection.get_first_root_node().pk}
    assert Collection.objects.count() == 1


def test_some_stories_carry_corrections_shown_on_their_page(demo, client):
    corrected = StoryPage.objects.filter(corrections__isnull=False).distinct()
    assert corrected.exists()
    story = corrected.first()
    correction = story.corrections.first()
    assert correction.date <= timezone.localdate()
    html = client.get(story.url).content.decode()
    assert "Corrections" in html
    assert re.sub(r"<[^>]+>", "", correction.text) in html


def test_newsroom_support_and_home_are_set_up(demo, site, client):
    newsroom = NewsroomSettings.for_site(site)
    assert newsroom.outlet_name != "Byline Newsroom" and newsroom.tagline
    support = SupportSettings.for_site(site)
    assert support.appeal_heading and support.button_url.startswith("https://")
    assert support.store_promo_enabled and support.store_promo_url
    home = HomePage.objects.get()
    assert home.title == newsroom.outlet_name
    html = client.get("/").content.decode()
    assert newsroom.outlet_name in html
    for title in SECTIONS:
        assert f">{title}</a>" in html


def test_some_stories_are_recent_enough_for_the_news_sitemap(demo):
    recent = StoryPage.objects.live().filter(first_published_at__gte=timezone.now() - timedelta(days=2))
    older = StoryPage.objects.live().filter(first_published_at__lt=timezone.now() - timedelta(days=2))
    assert recent.exists() and older.exists()


def test_every_demo_page_renders(demo, client):
    urls = ["/"] + [page.url for page in SectionPage.objects.all()] + [story.url for story in StoryPage.objects.all()]
    assert len(urls) >= 23
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url


def test_running_again_creates_nothing(demo):
    before = content_counts()
    output = load_demo("--no-admin")
    assert "Demo content: 0 new stories" in output
    assert content_counts() == before


def test_running_again_keeps_an_editors_edit(demo, client):
    story = StoryPage.objects.filter(origin__isnull=True).first()
    story.title = "Council delays the rent vote (edited by the desk)"
    story.save_revision().publish()
    revisions = Revision.objects.count()

    load_demo("--no-admin")

    story.refresh_from_db()
    assert story.title == "Council delays the rent vote (edited by the desk)"
    assert Revision.objects.count() == revisions
    assert StoryPage.objects.filter(slug=story.slug).count() == 1
    assert "Council delays the rent vote (edited by the desk)" in client.get(story.url).content.decode()


def test_running_again_keeps_edited_site_settings(demo, site):
    support = SupportSettings.for_site(site)
    support.appeal_heading = "Our spring drive"
    support.save()
    load_demo("--no-admin")
    assert SupportSettings.for_site(site).appeal_heading == "Our spring drive"


def test_no_admin_option_creates_no_account(demo):
    assert get_user_model().objects.count() == 0


def test_admin_step_creates_one_superuser_and_prints_the_login(site):
    output = load_demo()
    User = get_user_model()
    [admin] = User.objects.all()
    assert admin.is_superuser and admin.is_staff and admin.username == "admin"
    match = re.search(r"Admin: http://testserver/admin/\s+user: admin\s+password: (\S+)", output)
    assert match, output
    assert authenticate(username="admin", password=match.group(1)) == admin


def test_admin_step_run_again_keeps_the_one_account(site):
    load_demo()
    output = load_demo()
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
    assert "password:" not in output
    assert "an account exists already" in output
