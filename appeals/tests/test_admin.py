"""Editors manage appeals in the Wagtail admin: campaigns and section appeals with versions, in the newsroom's time
zone, checked before saving, with a preview; and the Appeals menu."""

from datetime import timedelta

import lxml.html
import pytest
from django.urls import reverse
from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text

from appeals.factories import AppealFactory
from appeals.models import Appeal
from stories.factories import SectionPageFactory

from .helpers import UTC, at

pytestmark = pytest.mark.django_db


def form(name="Passover 2027", starts="2027-04-21 18:00", ends="2027-04-29 20:00", sections=(), versions=None):
    versions = versions if versions is not None else [{
        "note": "", "heading": "Make a Passover Gift Today!", "message": rich_text("<p>Give <b>today</b>.</p>"),
        "signature_name": "Miriam Okafor", "signature_title": "Publisher", "button_label": "Give",
        "button_url": "https://donate.example.org/passover",
    }]
    data = nested_form_data({
        "name": name, "live": "on", "starts_at": starts, "ends_at": ends,
        "variants": inline_formset(versions, min=1, max=6),
    })
    if sections:
        data["sections"] = [str(section.pk) for section in sections]
    return data


def errors(response):
    document = lxml.html.document_fromstring(response.content)
    messages = document.xpath('//*[contains(@class, "error-message")]')
    return " ".join(" ".join(e.text_content().split()) for e in messages)


def test_an_editor_creates_a_campaign_in_the_newsrooms_time_zone(admin_client, settings):
    assert settings.TIME_ZONE == "America/New_York"
    response = admin_client.post(reverse("wagtailsnippets_appeals_appeal:add"), form())
    assert response.status_code == 302, errors(response)
    appeal = Appeal.objects.get()
    assert appeal.starts_at == at(UTC, 2027, 4, 21, 22)  # 6 pm EDT
    assert appeal.ends_at == at(UTC, 2027, 4, 30, 0)  # 8 pm EDT
    [variant] = appeal.variants.all()
    assert variant.heading == "Make a Passover Gift Today!" and "<b>today</b>" in variant.message


def test_two_versions_can_be_added(admin_client):
    versions = [
        {"note": "Warm", "heading": "Give today", "message": rich_text(""), "signature_name": "",
         "signature_title": "", "button_label": "Give", "button_url": "https://donate.example.org/a"},
        {"note": "Urgent", "heading": "Only three days left", "message": rich_text(""), "signature_name": "",
         "signature_title": "", "button_label": "Give", "button_url": "https://donate.example.org/b"},
    ]
    response = admin_client.post(reverse("wagtailsnippets_appeals_appeal:add"), form(versions=versions))
    assert response.status_code == 302, errors(response)
    assert [v.note for v in Appeal.objects.get().ordered_variants()] == ["Warm", "Urgent"]


@pytest.mark.parametrize("changes,message", [
    ({"ends": ""}, "A campaign needs both a start and an end"),
    ({"starts": ""}, "A campaign needs both a start and an end"),
    ({"ends": "2027-04-20 18:00"}, "The end must come after the start."),
    ({"starts": "", "ends": ""}, "Tick the sections this appeal is for"),
])
def test_dates_and_sections_are_checked(admin_client, changes, message):
    response = admin_client.post(reverse("wagtailsnippets_appeals_appeal:add"), form(**changes))
    assert response.status_code == 200
    assert message in errors(response)
    assert not Appeal.objects.exists()


def test_a_donation_address_must_be_http_or_https(admin_client):
    versions = [{"note": "", "heading": "Give", "message": rich_text(""), "signature_name": "", "signature_title": "",
                 "button_label": "Give", "button_url": "javascript:alert(1)"}]
    response = admin_client.post(reverse("wagtailsnippets_appeals_appeal:add"), form(versions=versions))
    assert response.status_code == 200 and not Appeal.objects.exists()


def test_a_section_appeal_names_its_sections(admin_client, home):
    culture = SectionPageFactory(parent=home, title="Culture", slug="culture")
    response = admin_client.post(reverse("wagtailsnippets_appeals_appeal:add"),
                                 form(name="Arts desk", starts="", ends="", sections=[culture]))
    assert response.status_code == 302, errors(response)
    appeal = Appeal.objects.get()
    assert appeal.kind == "Section appeal" and [s.pk for s in appeal.sections.all()] == [culture.pk]


def test_the_preview_shows_every_version_as_it_closes_a_story(admin_client, site):
    versions = [
        {"note": "", "heading": "Give today", "message": rich_text("<p>Readers pay for this.</p>"),
         "signature_name": "Miriam Okafor", "signature_title": "Publisher", "button_label": "Give now",
         "button_url": "https://donate.example.org/a"},
        {"note": "", "heading": "Only three days left", "message": rich_text(""), "signature_name": "",
         "signature_title": "", "button_label": "Give", "button_url": "https://donate.example.org/b"},
    ]
    url = reverse("wagtailsnippets_appeals_appeal:preview_on_add")
    response = admin_client.post(url, form(versions=versions))
    assert response.json()["is_valid"] is True
    response = admin_client.get(url)
    assert response.status_code == 200
    document = lxml.html.document_fromstring(response.content)
    appeals = document.xpath('//section[@class="appeal"]')
    assert [a.xpath(".//h2")[0].text for a in appeals] == ["Give today", "Only three days left"]
    assert [a.xpath('.//a')[0].get("href") for a in appeals] == ["https://donate.example.org/a",
                                                                   "https://donate.example.org/b"]
    text = " ".join(document.text_content().split())
    assert "Version A" in text and "Version B" in text and "on every story" in text
    assert "Shows from April 21, 2027, 6:00 p.m. EDT" in text  # the site's one date format
    assert "/appeals/" not in response.content.decode(), "a preview counts nothing"


def test_the_appeals_menu_leads_to_campaigns_evergreen_appeal_and_results(admin_client, site):
    AppealFactory(name="Spring", starts_at=at(UTC, 2027, 4, 1), ends_at=at(UTC, 2027, 5, 1))
    response = admin_client.get(reverse("wagtailsnippets_appeals_appeal:list"))
    assert response.status_code == 200 and b"Spring" in response.content
    html = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    for url in (reverse("wagtailsnippets_appeals_appeal:list"), reverse("appeals_results:index"),
                reverse("wagtailsettings:edit", args=["appeals", "supportsettings"])):
        assert url.replace("/", "\\/") in html or url in html, url
    assert admin_client.get(reverse("wagtailsettings:edit", args=["appeals", "supportsettings"]),
                            follow=True).status_code == 200


def test_results_are_for_editors_only(client):
    response = client.get(reverse("appeals_results:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_campaign_edited_in_the_admin_keeps_its_versions_order(admin_client):
    start = at(UTC, 2027, 4, 1)
    appeal = AppealFactory(name="Spring", starts_at=start, ends_at=start + timedelta(days=9), versions=["A", "B"])
    response = admin_client.get(reverse("wagtailsnippets_appeals_appeal:edit", args=[appeal.pk]))
    assert response.status_code == 200
    assert [v.heading for v in appeal.ordered_variants()] == ["A", "B"]
