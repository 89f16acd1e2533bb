"""Check whether republished copies took their corrections: those due (a day after the notice, then daily while
they have not), or every copy of one change now (`--change ID`)."""

from django.core.management.base import BaseCommand, CommandError

from corrections.checking import check, check_due
from corrections.models import Change


class Command(BaseCommand):
    help = "Check whether republished copies took their corrections and updates."

    def add_arguments(self, parser):
        parser.add_argument("--change", type=int, help="Check every copy of this change now.")
        parser.add_argument("--limit", type=int, default=50, help="At most this many due copies (default 50).")

    def handle(self, *args, change=None, limit=50, **options):
        if change is not None:
            found = Change.objects.filter(pk=change).first()
            if found is None:
                raise CommandError(f"No change {change}.")
            outcomes = {}
            for notice in found.notices.select_related("change", "change__story", "partner"):
                outcome = check(notice)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        else:
            outcomes = check_due(limit=limit)
        summary = ", ".join(f"{count} {outcome or 'not checked'}" for outcome, count in outcomes.items())
        self.stdout.write(f"Checked {sum(outcomes.values())} copies" + (f": {summary}." if summary else "."))
