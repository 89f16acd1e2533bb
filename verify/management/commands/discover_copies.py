"""Find the pages of copies known only by their site: `python manage.py discover_copies [--story ID] [--limit N]`.

Where readers' browsers sent only a partner's origin, Byline reads that site's feeds and sitemaps for the page
carrying the story and its pixel (verify.discover). `run_jobs` runs it every 10 minutes on its slow queue for the
copies never looked for, or not found more than DISCOVER_INTERVAL_HOURS (6) ago. `verify_copies --story ID`
runs it first for that story. With `--story`, every origin-only copy of the story is looked for now.
"""

from django.core.management.base import BaseCommand, CommandError

from byline.sanitize import visible_controls
from stories.models import StoryPage

from ...discover import discover_copies, origin_only_copies


class Command(BaseCommand):
    help = ("Find the full address of copies whose readers' browsers sent only the partner's site, from the "
            "site's feeds and sitemaps: the page carrying the story's pixel and text.")

    def add_arguments(self, parser):
        parser.add_argument("--story", type=int, metavar="ID", help="Only this story's copies, due or not.")
        parser.add_argument("--limit", type=int, default=None, help="At most this many copies per run.")

    def handle(self, *args, story=None, limit=None, **options):
        if story is not None and not StoryPage.objects.filter(pk=story).exists():
            raise CommandError(f"No story with id {story}.")
        copies = origin_only_copies(story, due=story is None)
        if limit is not None:
            copies = copies[:limit]
        outcomes = discover_copies(copies=copies)
        if options["verbosity"] > 0:
            for outcome in outcomes:
                self.stdout.write(visible_controls(outcome.line()))
            self.stdout.write(f"Looked for {len(outcomes)} {'copy' if len(outcomes) == 1 else 'copies'} known "
                              "only by their site.")
