"""Factories for verifying copies: the URLs editors add by hand and the checks made of a copy. For the tests, and
for any demo or script (this is not a test module). Copies the pixel revealed are tracking.factories.CopyFactory."""

import factory
from django.utils import timezone

from .models import ManualCopy, Verification


class ManualCopyFactory(factory.django.DjangoModelFactory):
    """A page an editor added to be checked as a copy of `story`."""

    class Meta:
        model = ManualCopy

    url = factory.Sequence(lambda n: f"https://scraper{n}.example/copy-of-the-story/")
    note = ""


def _target(o):
    return o.copy or o.manual


class VerificationFactory(factory.django.DjangoModelFactory):
    """One check of `copy` (a copy the pixel revealed) or of `manual` (a URL an editor added), whose story, address
    and host it takes: compliant, with no check failing, made now, unless told otherwise. `failing` names the
    checks that failed; `checks` holds each check's ok, summary and evidence."""

    class Meta:
        model = Verification

    copy = None
    manual = None
    story_id = factory.LazyAttribute(lambda o: _target(o).story_id)
    url = factory.LazyAttribute(lambda o: _target(o).url)
    host = factory.LazyAttribute(lambda o: _target(o).host)
    status = Verification.COMPLIANT
    failing = factory.LazyFunction(list)
    checks = factory.LazyFunction(dict)
    checked_at = factory.LazyFunction(timezone.now)
