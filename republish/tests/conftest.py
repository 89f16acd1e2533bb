import pytest

from republish.factories import RepublishingPolicyFactory


@pytest.fixture
def policy(site):
    return RepublishingPolicyFactory(site=site)
