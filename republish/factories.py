"""Factories for the republishing policy and the partner sites it judges by rules of their own. For the tests,
and for any demo or script (this is not a test module)."""

import factory

from stories.factories import SiteSettingsFactory

from .models import CANONICAL_AS_POLICY, NOINDEX_AS_POLICY, PartnerSiteRule, RepublishingPolicy


class RepublishingPolicyFactory(SiteSettingsFactory):
    """The site's republishing policy; what is not given keeps the model's defaults (CC BY-ND 4.0, our canonical
    link and noindex asked for in the partner's head, no time limit)."""

    class Meta:
        model = RepublishingPolicy


class PartnerSiteRuleFactory(factory.django.DjangoModelFactory):
    """A partner site's rule on `policy`: by default one that leaves canonical and noindex as the policy says.
    `host` is stored as given: an editor's typing is normalized by `full_clean()`, as the settings form does."""

    class Meta:
        model = PartnerSiteRule

    policy = factory.SubFactory(RepublishingPolicyFactory)
    host = factory.Sequence(lambda n: f"news.partner{n}.example")
    canonical = CANONICAL_AS_POLICY
    noindex = NOINDEX_AS_POLICY
    note = ""
