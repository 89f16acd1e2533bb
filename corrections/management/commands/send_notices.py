import time

from django.core.management.base import BaseCommand

from corrections.delivery import send_due
from corrections.recording import notify_pending


class Command(BaseCommand):
    help = ("Make the notices of newly published corrections and updates, then send the notices that are due "
            "(email, webhooks); failed ones are retried for a day.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="One pass: claim and send up to --limit due messages, then stop. Without it, "
                                 "passes follow each other until nothing is due (or --budget is spent).")
        parser.add_argument("--limit", type=int, default=100, help="Messages per pass (default 100).")
        parser.add_argument("--budget", type=float, default=None,
                            help="Seconds after which no further message is claimed (default: no limit).")

    def handle(self, *args, once=False, limit=100, budget=None, verbosity=1, **options):
        started = time.monotonic()
        changes = notify_pending()
        if verbosity > 0 and changes:
            self.stdout.write(f"Told the copies of {changes} new change(s).")
        while True:
            left = None if budget is None else budget - (time.monotonic() - started)
            if left is not None and left <= 0:
                break
            done = send_due(limit=limit, budget=left)
            if verbosity > 1:
                for line in done.log:
                    self.stdout.write(line)
            if verbosity > 0:
                self.stdout.write(str(done))
            if once or done.claimed < limit:
                break
