"""Canonical and noindex by the rule for the copy's site: the policy's own, or the partner site rule the newsroom
granted (a canonical accepted in the body, or none needed). What fails is said as advice a partner on WordPress
can follow."""

import pytest

from republish.factories import PartnerSiteRuleFactory
from republish.models import RepublishingPolicy
from tracking.factories import CopyFactory
from verify.checks import looks_like_wordpress, run_checks
from verify.original import original_for
from verify.page import CopyPage
from verify.runner import copy_target, verify_targets

from .conftest import partner_page

pytestmark = pytest.mark.django_db

URL = "https://gazette.example/2026/05/council-passes-the-harbor-budget/"


def wordpress_page(handout, *, canonical=URL, robots="max-image-preview:large", article=None):
    """A post as WordPress without an SEO plugin renders it: core's own canonical link to the post itself,
    its robots tag, generator, REST API link and theme assets; our handout pasted into the post."""
    head = "\n".join(filter(None, [
        f'<meta name="robots" content="{robots}">' if robots else "",
        '<link rel="stylesheet" id="gazette-style-css" href="https://gazette.example/wp-content/themes/gazette/style.css?ver=6.8">',
        '<link rel="https://api.w.org/" href="https://gazette.example/wp-json/">',
        '<meta name="generator" content="WordPress 6.8.1">',
        f'<link rel="canonical" href="{canonical}">' if canonical else "",
        '<script src="https://gazette.example/wp-includes/js/jquery/jquery.min.js?ver=3.7.1"></script>',
    ]))
    return partner_page(handout, head=head, article=article)


def add_rule(policy, host="gazette.example", **rule):
    PartnerSiteRuleFactory(policy=policy, host=host, **rule)
    return RepublishingPolicy.for_site(policy.site)  # read afresh, as the verifier does


def checked(story, policy, html, url=URL, headers=None):
    """The report for `html` served at `url`, judged by the rule for that URL's host."""
    page = CopyPage(html, url, headers or {})
    original = original_for(story, policy).for_site(policy.rules_for(page.url.split("/")[2]))
    return run_checks(original, page)


def body_canonical(story, handout):
    """What a partner pastes at the top of the post (a Custom HTML block) where a canonical there is accepted."""
    return f'<link rel="canonical" href="{story.full_url}">\n' + handout.html


# what WordPress prints ------------------------------------------------------------------------------------------

def test_a_wordpress_page_is_known_by_the_marks_wordpress_leaves(handout):
    assert looks_like_wordpress(CopyPage(wordpress_page(handout), URL))
    assert not looks_like_wordpress(CopyPage(partner_page(handout), URL))
    hidden_generator = '<link rel="stylesheet" href="/wp-content/plugins/blocks/style.css">'
    assert looks_like_wordpress(CopyPage(partner_page(handout, head=hidden_generator), URL))


def test_wordpresss_own_canonical_to_the_copy_fails_with_the_plugin_advice(story, policy, handout):
    result = checked(story, policy, wordpress_page(handout)).checks["canonical"]
    assert result.ok is False
    assert result.summary == (
        "WordPress's own canonical points to the copy. "
        f"On WordPress, put {story.full_url} in the Canonical URL field of Yoast SEO, Rank Math or All in One SEO "
        "(Advanced tab of the post's SEO box), or ask us to accept a canonical in the body.")
    assert result.evidence["head"] == [URL] and result.evidence["wordpress"] is True
    assert result.evidence["advice"] in result.summary


def test_an_seo_plugins_canonical_to_the_original_passes_on_wordpress(story, policy, handout):
    html = wordpress_page(handout, canonical=story.full_url, robots="noindex, follow")
    report = checked(story, policy, html)
    assert report.checks["canonical"].ok is True and report.checks["noindex"].ok is True
    assert report.checks["canonical"].summary == "Canonical link to the original in the head"


def test_a_missing_canonical_anywhere_else_gets_the_head_snippet_and_the_wordpress_advice(story, policy, handout):
    result = checked(story, policy, partner_page(handout, head='<meta name="robots" content="noindex">'))
    assert result.checks["canonical"].summary == (
        "No canonical link in the head. Paste our head snippet into the page's head. "
        f"On WordPress, put {story.full_url} in the Canonical URL field of Yoast SEO, Rank Math or All in One SEO "
        "(Advanced tab of the post's SEO box), or ask us to accept a canonical in the body.")


def test_a_canonical_to_a_third_page_is_not_taken_for_wordpresss_own(story, policy, handout):
    html = wordpress_page(handout, canonical="https://gazette.example/news/")
    result = checked(story, policy, html).checks["canonical"]
    assert result.ok is False
    assert result.summary.startswith("Canonical points to https://gazette.example/news/, not to the original. On ")


def test_a_missing_noindex_on_wordpress_says_where_each_plugin_sets_it(story, policy, handout):
    result = checked(story, policy, wordpress_page(handout, canonical=story.full_url)).checks["noindex"]
    assert result.ok is False
    assert result.summary.startswith("No noindex. On WordPress, set the post to noindex in the Advanced tab of "
                                     "Yoast SEO, Rank Math or All in One SEO")
    for setting in ("“Allow search engines to show this content in search results?” No", "Robots Meta, No Index",
                    "Robots Setting, “Use Default Settings” off, No Index"):
        assert setting in result.summary
    assert result.summary.endswith("or ask us not to require noindex for this site.")


# the rule for the copy's site ------------------------------------------------------------------------------------

def test_by_default_a_canonical_in_the_body_does_not_count(story, policy, handout):
    html = wordpress_page(handout, robots="noindex", article=body_canonical(story, handout))
    result = checked(story, policy, html).checks["canonical"]
    assert result.ok is False and result.evidence["rule"] == "head" and result.evidence["site_rule"] == ""
    assert result.evidence["body"] == [story.full_url]


def test_where_the_sites_rule_accepts_the_body_a_body_canonical_to_the_original_passes(story, policy, handout):
    policy = add_rule(policy, canonical="body")
    html = wordpress_page(handout, robots="noindex", article=body_canonical(story, handout))
    result = checked(story, policy, html).checks["canonical"]
    assert result.ok is True
    assert result.summary == "Canonical link to the original in the body, accepted for this site"
    assert result.evidence["rule"] == "body" and result.evidence["site_rule"] == "gazette.example"


def test_where_the_body_is_accepted_the_head_still_passes(story, policy, handout):
    policy = add_rule(policy, canonical="body")
    html = wordpress_page(handout, canonical=story.full_url, robots="noindex")
    assert checked(story, policy, html).checks["canonical"].summary == "Canonical link to the original in the head"


def test_where_the_body_is_accepted_a_body_canonical_elsewhere_still_fails(story, policy, handout):
    policy = add_rule(policy, canonical="body")
    article = '<link rel="canonical" href="https://gazette.example/news/">\n' + handout.html
    result = checked(story, policy, wordpress_page(handout, robots="noindex", article=article)).checks["canonical"]
    assert result.ok is False
    assert result.summary == (
        "WordPress's own canonical points to the copy. "
        f"On WordPress, put {story.full_url} in the Canonical URL field of Yoast SEO, Rank Math or All in One SEO "
        "(Advanced tab of the post's SEO box), or paste our head snippet at the top of the story: a canonical in "
        "the body is accepted for this site.")


def test_where_the_site_needs_no_canonical_the_check_is_not_required(story, policy, handout):
    policy = add_rule(policy, canonical="none")
    report = checked(story, policy, wordpress_page(handout, robots="noindex"))
    assert report.checks["canonical"].ok is None
    assert report.checks["canonical"].summary == (
        "Not required for this site (WordPress's own canonical points to the copy)")
    assert report.failing == []


def test_where_the_site_needs_no_noindex_the_check_is_not_required(story, policy, handout):
    policy = add_rule(policy, noindex="none")
    report = checked(story, policy, wordpress_page(handout, canonical=story.full_url))
    assert report.checks["noindex"].ok is None
    assert report.checks["noindex"].summary == "Not required for this site (no noindex)"
    assert report.checks["canonical"].ok is True


def test_the_hosts_rule_beats_the_policy_and_other_hosts_keep_the_policy(story, policy, handout):
    policy = add_rule(policy, canonical="none", noindex="none")
    bare = partner_page(handout, head="")
    assert checked(story, policy, bare, url="https://www.gazette.example/p/1/").failing == []
    assert checked(story, policy, bare, url="https://ledger.example/p/1/").failing == ["canonical", "noindex"]


def test_the_hosts_rule_may_ask_what_the_policy_does_not(story, policy, handout):
    policy.require_canonical = policy.require_noindex = False
    policy.save()
    policy = add_rule(policy, "aggregator.example", canonical="head", noindex="required")
    bare = partner_page(handout, head="")
    assert checked(story, policy, bare, url="https://aggregator.example/p/1/").failing == ["canonical", "noindex"]
    report = checked(story, policy, bare)
    assert report.checks["canonical"].summary == "Not required by our policy (no canonical link in the head)"


# through the verifier ----------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("verify_settings")
def test_the_verifier_judges_each_copy_by_its_sites_rule(partner, story, policy, handout):
    add_rule(policy, "127.0.0.1", canonical="body", noindex="none", note="Plain WordPress, no plugins")
    url = partner.url("/2026/05/harbor-budget/")
    partner.html("/2026/05/harbor-budget/", wordpress_page(handout, canonical=url, robots="",
                                                            article=body_canonical(story, handout)))
    [(_, result)] = verify_targets([copy_target(CopyFactory(story=story, url=url))])
    assert result.failing == []
    assert result.checks["canonical"]["summary"] == "Canonical link to the original in the body, accepted for this site"
    assert result.checks["noindex"]["summary"] == "Not required for this site (no noindex)"
