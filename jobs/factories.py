"""Factories for the job runner's own rows: claimed periods and live runners. For the tests, and for any demo or
script (this is not a test module)."""

import factory
from django.utils import timezone

from .models import JobPeriod, Runner


class JobPeriodFactory(factory.django.DjangoModelFactory):
    """One job's period, claimed (by no runner in particular) and starting now unless told otherwise."""

    class Meta:
        model = JobPeriod

    job = "count_hits"
    starts_at = factory.LazyFunction(timezone.now)


class RunnerFactory(factory.django.DjangoModelFactory):
    """A `run_jobs` process, last seen now unless told otherwise."""

    class Meta:
        model = Runner

    id = factory.Sequence(lambda n: f"runner-{n}")
    host = factory.Sequence(lambda n: f"host-{n}")
    pid = factory.Sequence(lambda n: 1000 + n)
    seen_at = factory.LazyFunction(timezone.now)
