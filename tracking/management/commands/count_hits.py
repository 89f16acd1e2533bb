from django.core.management.base import BaseCommand

from tracking.counting import count_all_new_hits, forget_old_data


class Command(BaseCommand):
    help = "Count new pixel hits into the hourly rollups, then forget what privacy and retention require."

    def handle(self, *args, **options):
        counted = count_all_new_hits()
        forget_old_data()
        if options["verbosity"] > 0:
            self.stdout.write(f"Counted {counted} hits.")
