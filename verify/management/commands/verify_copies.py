"""Verify republished copies now: `python manage.py verify_copies [--story ID] [--url URL] [--json]`.

Without options every known copy is checked. With `--story`, the story's copies known only by their site are
first looked for in that site's feeds and sitemaps (verify.discover), and each page found is checked too.
`--json` prints one JSON object per copy and line (status, each check's result and evidence). The progress bar
and what the search found go to stderr. The schedule uses `verify_due_copies` and `discover_copies`.
"""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from byline.sanitize import visible_controls
from stories.models import StoryPage
from tracking.api import normalize

from ...discover import discover_copies
from ...models import ManualCopy
from ...runner import is_page_url, manual_target, targets, verify_targets


def printable(text):
    """URLs and evidence come from partners' pages: no control, bidirectional or zero-width character
    reaches the terminal; each is written out as <U+XXXX> (byline.sanitize.visible_controls)."""
    return visible_controls(text)


class Command(BaseCommand):
    help = (
        "Fetch republished copies of our stories (known from pixel hits, or added by editors) and check the "
        "pixel, credit, links, canonical and noindex, images, headline and text against the original."
    )

    def add_arguments(self, parser):
        parser.add_argument("--story", type=int, metavar="ID", help="Only copies of this story (its page id).")
        parser.add_argument("--url", metavar="URL", help="Only this copy. With --story, a URL not known yet is "
                                                         "added as a URL to verify for that story.")
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="One JSON object per copy and line: story, copy, url, status, similarity, "
                                 "failing, checks (ok, summary, evidence), error, checked_at.")

    def handle(self, *args, story=None, url=None, as_json=False, **options):
        self.verbosity = options["verbosity"]
        chosen = self.choose(story, url)
        if not chosen:
            raise CommandError("No copy to verify" + (f" for story {story}." if story else "."))
        results = verify_targets(chosen, progress=self.progress if self.verbosity > 0 else None)
        if self.verbosity > 0 and self.stderr.isatty():
            self.stderr.write("")
        for target, verification in results:
            if as_json:
                self.stdout.write(json.dumps(self.as_json(target, verification), ensure_ascii=False))
            else:
                self.write_text(target, verification)
        if not as_json and self.verbosity > 0:
            counts = {}
            for _, verification in results:
                status = verification.status if verification else "skipped"
                counts[status] = counts.get(status, 0) + 1
            summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
            self.stdout.write(f"Verified {summary}.")

    def choose(self, story_id, url):
        if story_id is not None and not StoryPage.objects.filter(pk=story_id).exists():
            raise CommandError(f"No story with id {story_id}.")
        if story_id is not None and url is None:
            for outcome in discover_copies(story_id, due=False):
                if self.verbosity > 0:
                    self.stderr.write(printable(outcome.line()))
        chosen = targets(story_id=story_id, url=url)
        if url is None or chosen:
            return chosen
        if story_id is None:
            raise CommandError(f"No known copy has the URL {url}; add --story ID to check it against a story.")
        if not is_page_url(url):
            raise CommandError("Give the full http or https address of the page.")
        manual = ManualCopy(story_id=story_id, url=normalize(url), note="Added from the command line.")
        try:
            manual.full_clean()
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        manual.save()
        return [manual_target(manual)]

    def progress(self, index, total, target, verification):
        status = verification.status if verification else "skipped"
        if self.stderr.isatty():
            width = 30
            filled = round(width * index / total)
            self.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {index}/{total} {status:<11} "
                              f"{printable(target.url)[:60]:<60}", ending="")
        else:
            self.stderr.write(f"[{index}/{total}] {status} {printable(target.url)}")

    def as_json(self, target, verification):
        if verification is None:
            return {"story": target.story_id, "copy": target.key, "url": target.url, "status": "skipped",
                    "error": "the story no longer exists"}
        return verification.as_json()

    def write_text(self, target, verification):
        if verification is None:
            self.stdout.write(f"skipped      {printable(target.url)} (story {target.story_id} no longer exists)")
            return
        similarity = f" similarity {verification.similarity:.0%}" if verification.similarity is not None else ""
        self.stdout.write(f"{verification.status:<12} {printable(target.url)} (story {target.story_id}){similarity}")
        if verification.error:
            self.stdout.write(f"    {printable(verification.error)}")
        for problem in verification.problems:
            self.stdout.write(f"    - {printable(problem)}")
