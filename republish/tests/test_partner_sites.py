"""Canonical and noindex for partners whose head they cannot edit (plain WordPress): the per-site rules the
newsroom grants, how they are edited under Settings, and the WordPress advice in the box and on the page."""

import lxml.html
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from wagtail.test.utils.form_data import inline_formset, nested_form_data, rich_text

from republish.factories import PartnerSiteRuleFactory
from republish.models import (
    CANONICAL_IN_BODY,
    CANONICAL_IN_HEAD,
    CANONICAL_NOT_REQUIRED,
    PartnerSiteRule,
    RepublishingPolicy,
    partner_host,
)
from stories.factories import StoryPageFactory

pytestmark = pytest.mark.django_db


def add_rule(policy, host, **rule):
    """A partner site rule for `host` as an editor types it, checked and normalized as the settings form does."""
    rule = PartnerSiteRuleFactory.build(policy=policy, host=host, **rule)
    rule.full_clean(exclude=["policy"])
    rule.save()
    return rule


def fresh(site):
    """The policy as the next request or verifier run reads it."""
    return RepublishingPolicy.for_site(site)


# the rules ---------------------------------------------------------------------------------------------------

def test_without_a_rule_for_the_host_the_policy_itself_holds(policy):
    rules = policy.rules_for("partner.example")
    assert (rules.canonical, rules.noindex, rules.host) == (CANONICAL_IN_HEAD, True, "")
    policy.require_canonical = policy.require_noindex = False
    assert (policy.rules_for("partner.example").canonical, policy.rules_for("partner.example").noindex) == (
        CANONICAL_NOT_REQUIRED, False)


def test_a_site_rule_decides_for_its_host_its_www_and_its_subdomains_only(policy, site):
    add_rule(policy, "gazette.example", canonical="body", noindex="none", note="Plain WordPress, agreed May 2026")
    policy = fresh(site)
    for host in ("gazette.example", "www.gazette.example", "news.gazette.example", "GAZETTE.example"):
        rules = policy.rules_for(host)
        assert (rules.canonical, rules.noindex, rules.host) == (CANONICAL_IN_BODY, False, "gazette.example"), host
        assert rules.note == "Plain WordPress, agreed May 2026"
    for host in ("othergazette.example", "gazette.example.net", ""):
        assert policy.rules_for(host).host == "", host


def test_a_rule_for_www_covers_the_bare_host_too(policy, site):
    add_rule(policy, "www.gazette.example", canonical="none")
    assert fresh(site).rules_for("gazette.example").canonical == CANONICAL_NOT_REQUIRED


def test_the_most_specific_host_wins(policy, site):
    add_rule(policy, "gazette.example", canonical="none")
    add_rule(policy, "news.gazette.example", canonical="body")
    policy = fresh(site)
    assert policy.rules_for("news.gazette.example").canonical == CANONICAL_IN_BODY
    assert policy.rules_for("sports.gazette.example").canonical == CANONICAL_NOT_REQUIRED


def test_as_the_policy_says_follows_the_policy_as_it_changes(policy, site):
    add_rule(policy, "gazette.example", noindex="none")
    assert fresh(site).rules_for("gazette.example").canonical == CANONICAL_IN_HEAD
    policy.require_canonical = False
    policy.save()
    rules = fresh(site).rules_for("gazette.example")
    assert (rules.canonical, rules.require_canonical, rules.noindex) == (CANONICAL_NOT_REQUIRED, False, False)


def test_a_site_rule_may_ask_more_than_the_policy(policy, site):
    policy.require_canonical = policy.require_noindex = False
    policy.save()
    add_rule(policy, "aggregator.example", canonical="head", noindex="required")
    rules = fresh(site).rules_for("aggregator.example")
    assert (rules.canonical, rules.noindex) == (CANONICAL_IN_HEAD, True)


def test_the_host_is_read_from_what_an_editor_pastes():
    assert partner_host("https://WWW.Gazette.Example:8443/2026/05/harbor-budget/?p=1") == "www.gazette.example"
    assert partner_host("  gazette.example. ") == "gazette.example"
    assert partner_host("bücher.example") == "xn--bcher-kva.example"
    assert partner_host("") == "" and partner_host("http://[::1") == ""


def test_a_rule_without_a_host_name_is_refused(policy):
    for host in ("", "   ", "localhost", "http://"):
        with pytest.raises(ValidationError) as refused:
            PartnerSiteRule(policy=policy, host=host).full_clean(exclude=["policy"])
        assert "host" in refused.value.message_dict


def test_the_contact_address_makes_a_mailto_link(policy):
    assert policy.exception_mailto == ""
    policy.contact_email = "republish@ledger.example"
    assert policy.exception_mailto == (
        "mailto:republish@ledger.example?subject=Republishing%3A%20canonical%20and%20noindex%20on%20our%20site")


# editing them under Settings ---------------------------------------------------------------------------------

def policy_form(policy, sites):
    return nested_form_data({
        "introduction": rich_text(policy.introduction), "guidelines": rich_text(policy.guidelines),
        "license": policy.license, "top_credit": policy.top_credit, "bottom_credit": policy.bottom_credit,
        "require_canonical": "on", "require_noindex": "on", "window_days": "",
        "contact_email": "republish@ledger.example", "audience": policy.audience,
        "partner_sites": inline_formset(sites),
    })


def errors(response):
    document = lxml.html.document_fromstring(response.content)
    messages = document.xpath('//*[contains(@class, "error-message")]')
    return " ".join(" ".join(e.text_content().split()) for e in messages)


def test_an_editor_adds_partner_sites_on_the_republishing_policy_settings_page(admin_client, site, policy):
    url = reverse("wagtailsettings:edit", args=["republish", "republishingpolicy", site.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and "Partner sites" in page.content.decode()
    sites = [
        {"host": "https://www.gazette.example/2026/05/harbor-budget/", "canonical": "body", "noindex": "none",
         "note": "Plain WordPress.com plan"},
        {"host": "wire.example", "canonical": "none", "noindex": "policy", "note": ""},
    ]
    response = admin_client.post(url, policy_form(policy, sites))
    assert response.status_code == 302, errors(response)
    saved = fresh(site)
    assert saved.contact_email == "republish@ledger.example"
    assert [(r.host, r.canonical, r.noindex, r.note) for r in saved.partner_sites.all()] == [
        ("www.gazette.example", "body", "none", "Plain WordPress.com plan"),
        ("wire.example", "none", "policy", ""),
    ]
    assert saved.rules_for("gazette.example").canonical == CANONICAL_IN_BODY


def test_the_settings_page_refuses_a_partner_site_without_a_host(admin_client, site, policy):
    url = reverse("wagtailsettings:edit", args=["republish", "republishingpolicy", site.pk])
    sites = [{"host": "not a host", "canonical": "body", "noindex": "policy", "note": ""}]
    response = admin_client.post(url, policy_form(policy, sites))
    assert response.status_code == 200
    assert "Enter a host name" in errors(response)
    assert not PartnerSiteRule.objects.exists()


# the advice partners read ------------------------------------------------------------------------------------

def wordpress_help(html):
    """The WordPress advice in a page, as its text, or None when the page has none."""
    found = lxml.html.document_fromstring(html).find_class("republish-offer__wordpress")
    return " ".join(found[0].text_content().split()) if found else None


@pytest.fixture
def story(news):
    return StoryPageFactory(parent=news, title="Council passes the harbor budget")


@pytest.mark.parametrize("where", ["dialog", "page"])
def test_partners_read_where_each_seo_plugin_keeps_the_canonical_url_and_noindex(client, story, where):
    html = client.get(story.url if where == "dialog" else f"/republish/{story.pk}/").content.decode()
    text = wordpress_help(html)
    assert text.startswith("On WordPress? Set the canonical URL and noindex in your SEO plugin")
    assert "Yoast SEO, Advanced: paste the URL into “Canonical URL”; set “Allow search engines to show" in text
    assert "Rank Math, Advanced: paste the URL into “Canonical URL”; under Robots Meta, tick “No Index”" in text
    assert ("All in One SEO, Advanced: paste the URL into “Canonical URL”; under Robots Setting, switch off "
            "“Use Default Settings” and tick “No Index”") in text
    field = lxml.html.document_fromstring(html).get_element_by_id(f"republish-{where}-canonical")
    assert field.get("value") == story.full_url and field.get("readonly") is not None
    assert 'data-copy="canonical_url"' in html
    assert "Ask us: we may accept our canonical link pasted at the top of the story" in text


def test_the_advice_names_only_what_the_policy_asks(client, story, policy):
    policy.require_canonical = False
    policy.save()
    text = wordpress_help(client.get(f"/republish/{story.pk}/").content.decode())
    assert text.startswith("On WordPress? Set noindex in your SEO plugin")
    assert "Canonical URL" not in text and "No Index" in text
    assert text.endswith("we may accept your copy without noindex.")

    policy.require_canonical, policy.require_noindex = True, False
    policy.save()
    text = wordpress_help(client.get(f"/republish/{story.pk}/").content.decode())
    assert text.startswith("On WordPress? Set the canonical URL in your SEO plugin")
    assert "Canonical URL" in text and "No Index" not in text and "search results" not in text


def test_no_advice_where_the_policy_asks_neither(client, story, policy):
    policy.require_canonical = policy.require_noindex = False
    policy.save()
    for url in (story.url, f"/republish/{story.pk}/"):
        html = client.get(url).content.decode()
        assert "Republish This Story" in html and wordpress_help(html) is None, url


def test_the_advice_links_the_policys_contact_address(client, story, policy):
    policy.contact_email = "republish@ledger.example"
    policy.save()
    html = client.get(f"/republish/{story.pk}/").content.decode()
    [link] = lxml.html.document_fromstring(html).find_class("republish-offer__wordpress")[0].xpath(".//a")
    assert link.get("href") == policy.exception_mailto and link.text_content() == "Write to us"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_partner_on_wordpress_copies_the_canonical_url_from_the_dialog(live_site, news, chromium):
    story = StoryPageFactory(parent=news, title="Harbor cleanup begins")
    context = chromium.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        page.goto(live_site.url + story.url)
        page.get_by_role("link", name="Republish This Story").click()
        dialog = page.get_by_role("dialog", name="Republish “Harbor cleanup begins”")
        copy_button = dialog.get_by_role("button", name="Copy canonical URL")
        assert not copy_button.is_visible()  # folded away for the partners who can paste the head snippet
        dialog.get_by_text("On WordPress? Set the canonical URL and noindex in your SEO plugin").click()
        copy_button.click()
        page.get_by_text("Copied to the clipboard.").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == story.full_url
    finally:
        context.close()
