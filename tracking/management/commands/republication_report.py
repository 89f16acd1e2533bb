"""Per story, every copy with its views and readers: `python manage.py republication_report [--story ID]
[--since YYYY-MM-DD] [--json]`."""

import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from byline.sanitize import visible_controls
from tracking.dashboard import republication, start_of


def printable(text):
    """Copy URLs come from browsers and partner pages: no control, bidirectional or zero-width character
    reaches the terminal; each is written out as <U+XXXX> (byline.sanitize.visible_controls)."""
    return visible_controls(text)


def utc_minute(moment):
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else ""


class Command(BaseCommand):
    help = (
        "Per story, each copy (our site, or a republisher's page: its URL or origin) with first and last seen, "
        "views and readers, most read stories first. Reports what has been counted: the job runner "
        "(run_jobs) counts new hits every minute through count_hits, so the last minute may be missing. "
        "Times are UTC."
    )

    def add_arguments(self, parser):
        parser.add_argument("--story", type=int, metavar="ID", help="Only this story (its page id).")
        parser.add_argument("--since", metavar="YYYY-MM-DD",
                            help="Only views and readers from this UTC day on (default: everything counted).")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help='JSON instead of a table: a list with one object per story, '
                                 '{"story_id", "title", "url", "copies": [{"copy", "first_seen", "last_seen", '
                                 '"views", "readers", "found_by_byline", "origin", "finding"}]}. "copy" is the '
                                 'page\'s address; for a copy whose readers sent only the site, the page Byline '
                                 'found (found_by_byline true, origin the site) or the site, with "finding" '
                                 'saying what the search found.')

    def handle(self, *args, story=None, since=None, as_json=False, **options):
        since_moment = None
        if since is not None:
            try:
                since_moment = start_of(datetime.strptime(since, "%Y-%m-%d").date())
            except ValueError:
                raise CommandError(
                    f"--since must be a date written YYYY-MM-DD, e.g. 2026-11-01; got {since!r}."
                ) from None
        stories = republication(story_id=story, since=since_moment)
        if stories is None:
            raise CommandError(f"No story with id {story}, and nothing was ever counted for it.")
        if as_json:
            self.write_json(stories)
        else:
            self.write_table(stories, since)

    def write_json(self, stories):
        for entry in stories:
            for copy in entry["copies"]:
                copy["first_seen"] = copy["first_seen"].astimezone(UTC).isoformat()
                copy["last_seen"] = copy["last_seen"].astimezone(UTC).isoformat()
        self.stdout.write(json.dumps(stories, indent=2, ensure_ascii=False))

    def write_table(self, stories, since):
        period = f"since {since}" if since else "over all counted time"
        if not stories:
            self.stdout.write(f"No views or readers {period}.")
            return
        self.stdout.write(f"Views and readers {period} (times in UTC).")
        for entry in stories:
            self.stdout.write("")
            title = printable(entry["title"])
            self.stdout.write(f"Story {entry['story_id']}: {title}" + (f"  <{entry['url']}>" if entry["url"] else ""))
            if not entry["copies"]:
                self.stdout.write("  No views or readers.")
                continue
            self.stdout.write(f"  {'Views':>7}  {'Readers':>7}  {'First seen':<16}  {'Last seen':<16}  Copy")
            for copy in entry["copies"]:
                self.stdout.write(
                    f"  {copy['views']:>7,}  {copy['readers']:>7,}  {utc_minute(copy['first_seen']):<16}  "
                    f"{utc_minute(copy['last_seen']):<16}  {printable(copy['copy'])}"
                    + ("  (found by Byline)" if copy["found_by_byline"] else "")
                )
                if copy["finding"] and not copy["found_by_byline"]:
                    self.stdout.write(f"  {'':>7}  {'':>7}  {'':<16}  {'':<16}  {printable(copy['finding'])}")
            views = sum(copy["views"] for copy in entry["copies"])
            readers = sum(copy["readers"] for copy in entry["copies"])
            copies = len(entry["copies"])
            on = f"{copies} {'copy' if copies == 1 else 'copies'}"
            self.stdout.write(f"  {views:>7,}  {readers:>7,}  in all, on {on}")

