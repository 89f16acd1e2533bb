from django.core.management.base import BaseCommand

from appeals.switching import purge_at_boundaries


class Command(BaseCommand):
    help = "Purge cached pages when a campaign has started or ended since the last run (run every minute)."

    def handle(self, *args, **options):
        purged = purge_at_boundaries()
        if options["verbosity"] > 0:
            self.stdout.write("A campaign started or ended: page cache purged." if purged else "No campaign boundary.")
