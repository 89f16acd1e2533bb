from django.core.management.base import BaseCommand

from appeals.counting import count_all_new_events, forget_old_events


class Command(BaseCommand):
    help = "Count new appeal views and clicks into the per-version counts, then forget what privacy requires."

    def handle(self, *args, **options):
        counted = count_all_new_events()
        forget_old_events()
        if options["verbosity"] > 0:
            self.stdout.write(f"Counted {counted} appeal events.")
