"""Which stories may travel: decided from facts, always with a reason readers and editors see."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from wagtail.models import PageViewRestriction

from republish.eligibility import is_republishable
from stories.factories import OriginFactory, SectionPageFactory, StoryPageFactory
from stories.models import Origin, StoryPage

pytestmark = pytest.mark.django_db


def test_our_own_story_may_be_republished_under_the_license(news, policy):
    decision = is_republishable(StoryPageFactory(parent=news), policy)
    assert decision.eligible
    assert decision.reason == "You may republish this story for free under CC BY-ND 4.0."


def test_a_story_from_our_own_origin_record_may_be_republished(news, policy):
    own = OriginFactory(name="The Harbor Ledger", kind=Origin.OWN)
    assert is_republishable(StoryPageFactory(parent=news, origin=own), policy).eligible


@pytest.mark.parametrize("kind", [Origin.WIRE, Origin.PARTNER])
def test_a_wire_or_partner_story_is_not_republishable_and_says_who_it_came_from(news, policy, kind):
    jta = OriginFactory(name="Jewish Telegraphic Agency", short_name="JTA", kind=kind)
    decision = is_republishable(StoryPageFactory(parent=news, origin=jta), policy)
    assert not decision.eligible
    assert decision.reason == "This story originated with JTA and is not available for republishing."
    assert decision.rule == "origin"


def test_an_origin_whose_agreement_allows_it_may_travel(news, policy):
    partner = OriginFactory(name="Lakeside Courier", kind=Origin.PARTNER, may_republish=True)
    assert is_republishable(StoryPageFactory(parent=news, origin=partner), policy).eligible


def test_a_section_may_opt_out(home, site, policy):
    opinion = SectionPageFactory(parent=home, title="Opinion", slug="opinion", allow_republishing=False)
    decision = is_republishable(StoryPageFactory(parent=opinion), policy)
    assert not decision.eligible
    assert decision.reason == "Stories in Opinion are not available for republishing."


def test_an_editor_may_switch_a_story_off_with_a_reason(news, policy):
    story = StoryPageFactory(parent=news, republishing=StoryPage.REPUBLISH_OFF,
                             republishing_note="It names a minor.")
    decision = is_republishable(story, policy)
    assert not decision.eligible
    assert decision.reason == "This story is not available for republishing. It names a minor."


def test_switching_off_without_a_reason_is_refused(news):
    story = StoryPageFactory(parent=news)
    story.republishing = StoryPage.REPUBLISH_OFF
    with pytest.raises(ValidationError) as error:
        story.full_clean()
    assert "republishing_note" in error.value.message_dict


def test_an_editor_may_switch_a_story_on_past_a_section_opt_out_and_the_window(home, site, policy):
    policy.window_days = 30
    opinion = SectionPageFactory(parent=home, title="Opinion", slug="opinion", allow_republishing=False)
    story = StoryPageFactory(parent=opinion, republishing=StoryPage.REPUBLISH_ON,
                             first_published_at=timezone.now() - timedelta(days=90))
    assert is_republishable(story, policy).eligible


def test_switching_on_never_overrides_the_origin(news, policy):
    wire = OriginFactory(name="Meridian News Agency", short_name="MNA", kind=Origin.WIRE)
    story = StoryPageFactory(parent=news, origin=wire)
    story.republishing = StoryPage.REPUBLISH_ON
    assert not is_republishable(story, policy).eligible
    with pytest.raises(ValidationError) as error:
        story.full_clean()
    assert "republishing" in error.value.message_dict


def test_an_embargo_holds_a_story_back_until_its_time(news, policy):
    now = timezone.now()
    story = StoryPageFactory(parent=news, republish_from=now + timedelta(days=2))
    decision = is_republishable(story, policy, now=now)
    assert not decision.eligible and decision.rule == "embargo"
    assert decision.reason.startswith("This story may be republished from ")
    assert is_republishable(story, policy, now=now + timedelta(days=3)).eligible


def test_the_site_window_closes_republishing_after_publication(news, policy):
    policy.window_days = 90
    now = timezone.now()
    story = StoryPageFactory(parent=news, first_published_at=now - timedelta(days=91))
    decision = is_republishable(story, policy, now=now)
    assert not decision.eligible and decision.rule == "window"
    assert decision.reason.startswith("This story could be republished until ")
    assert is_republishable(story, policy, now=now - timedelta(days=2)).eligible


def test_a_story_window_overrides_the_site_default(news, policy):
    policy.window_days = 90
    story = StoryPageFactory(parent=news, first_published_at=timezone.now() - timedelta(days=10),
                             republish_window_days=7)
    assert is_republishable(story, policy).rule == "window"


def test_drafts_unpublished_and_private_stories_never_travel(news, policy):
    draft = StoryPageFactory(parent=news, live=False)
    assert is_republishable(draft, policy).reason == "This story is not published."
    private = StoryPageFactory(parent=news)
    PageViewRestriction.objects.create(page=private, restriction_type=PageViewRestriction.LOGIN)
    assert not is_republishable(private, policy).eligible
    unpublished = StoryPageFactory(parent=news)
    unpublished.unpublish()
    assert not is_republishable(StoryPage.objects.get(pk=unpublished.pk), policy).eligible
