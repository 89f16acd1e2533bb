"""Run Byline's periodic jobs every minute: publish (and unpublish) scheduled pages, count pixel hits.

Run it beside the web server (`make scheduler`, a systemd unit, a container). A cron line calling
`python manage.py publish_scheduled` every minute does the same job for publishing alone.
"""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

PERIODIC_COMMANDS = ["publish_scheduled", "count_hits", "switch_appeals", "count_appeals", "verify_due_copies"]


class Command(BaseCommand):
    help = "Run periodic jobs (scheduled publishing) every --interval seconds until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=60.0)
        parser.add_argument("--once", action="store_true", help="Run each job once and exit.")

    def handle(self, *args, interval, once, **options):
        while True:
            for name in PERIODIC_COMMANDS:
                try:
                    call_command(name, verbosity=0)
                except Exception as error:  # one failing job must not stop the others or the loop
                    self.stderr.write(f"{name} failed: {error}")
            if once:
                return
            time.sleep(interval)
