"""The verification schedule: `python manage.py verify_due_copies [--limit N] [--budget SECONDS]`.

`run_jobs` runs it every 10 minutes on its slow queue (verify/apps.py). It enqueues a background check
(`verify.tasks.verify_copy`) of each copy never checked or last checked more than VERIFY_INTERVAL_HOURS (24) ago,
longest waiting first, at most `--limit` copies and for at most `--budget` seconds per run.
It also drops the evidence of checks older than VERIFY_EVIDENCE_DAYS (90) that are no copy's latest (their
status, failing checks, summaries and similarity stay).
"""

from django.core.management.base import BaseCommand

from ...runner import forget_old_evidence
from ...tasks import enqueue_due


class Command(BaseCommand):
    help = "Enqueue background checks of the republished copies whose turn has come (see VERIFY_INTERVAL_HOURS)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=5, help="At most this many copies per run (default 5).")
        parser.add_argument("--budget", type=float, default=30.0,
                            help="Stop enqueuing after this many seconds (default 30).")

    def handle(self, *args, limit, budget, **options):
        results = enqueue_due(limit=limit, budget_seconds=budget)
        thinned = forget_old_evidence()
        if options["verbosity"] > 0:
            done = [result for result in results if result.is_finished]
            self.stdout.write(f"Enqueued {len(results)} copies; {len(done)} checked already.")
            if thinned:
                self.stdout.write(f"Dropped the evidence of {thinned} old checks.")
