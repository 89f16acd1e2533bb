import pytest

from republish.models import RepublishingPolicy


@pytest.fixture
def policy(site):
    return RepublishingPolicy.for_site(site)
