import json
import sys
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from stories.models import SectionPage
from wire.importer import FAILED, Options, Result, find_origin, import_document

MAX_FILE_BYTES = 50 * 1024 * 1024
PROGRESS_FROM = 20  # files; smaller batches finish before a bar would help


class Command(BaseCommand):
    help = "Import IPTC ninjs items (1.x, 2.x, 3.x) from files, directories (recursively) or - for standard input."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--publish", action="store_true", help="publish usable text items at once")
        parser.add_argument("--json", action="store_true", help="one JSON object per item on standard output")
        parser.add_argument("--section", help="slug of the section for new stories (default: Settings → Wire desk)")
        whose = parser.add_mutually_exclusive_group()
        whose.add_argument("--agency", metavar="NAME",
                           help="the agency every item is from: their identity (with the uri) and their stories' "
                                "origin, whatever they name (created as a wire service when new)")
        whose.add_argument("--origin", metavar="NAME",
                           help="without --agency, each item is the agency it names (copyrightholder, infosources, "
                                "provider); this one for items that name none (default: an 'Unnamed wire service')")

    def handle(self, **options):
        paths = options["paths"]
        section = None
        if options["section"]:
            section = SectionPage.objects.filter(slug=options["section"]).first()
            if section is None:
                raise CommandError(f"no section with the slug {options['section']!r}")
        agency = self.agency(options["agency"]) if options["agency"] else None
        origin = find_origin(options["origin"]) if options["origin"] else None
        if not options["json"]:
            # Staff must see whose items these were taken to be: that decides which stories they update.
            if agency:
                self.stdout.write(f"Agency: {agency.name} (--agency), whatever the items name.")
            else:
                fallback = origin.name if origin else "Unnamed wire service"
                self.stdout.write(f"Agency: the one each item names (copyrightholder, infosources, provider); "
                                  f"{fallback} for items that name none. --agency NAME sets one for all.")
        sources = list(self.sources(paths))
        show_progress = not options["json"] and len(sources) >= PROGRESS_FROM and sys.stderr.isatty()
        counts = Counter()
        for done, (label, read) in enumerate(sources, 1):
            try:
                data = read()
            except OSError as error:
                results = [_failure(f"{label}: cannot be read ({error.strerror or error})")]
            else:
                if len(data) > MAX_FILE_BYTES:
                    results = [
                        _failure(f"{label}: {len(data)} bytes, more than the {MAX_FILE_BYTES} read from one file")
                    ]
                else:
                    results = import_document(data, Options(publish=options["publish"], agency=agency, origin=origin,
                                                            section=section, source=label), label=label)
            for result in results:
                counts[result.status] += 1
                self.report(result, label, options["json"], show_progress)
            if show_progress:
                self.progress(done, len(sources))
        if show_progress:
            sys.stderr.write("\n")
        if not options["json"]:
            summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to import"
            self.stdout.write(f"{sum(counts.values())} item(s) from {len(sources)} file(s): {summary}.")
        if counts[FAILED]:
            raise CommandError(f"{counts[FAILED]} item(s) failed", returncode=1)

    def agency(self, name):
        agency = find_origin(name)
        if agency.is_own:
            raise CommandError(f"{agency.name} is our own newsroom, not an agency")
        return agency

    def sources(self, paths):
        """(label, read) for each file named, each *.json under each directory, and standard input for '-'."""
        for name in paths:
            if name == "-":
                yield "<stdin>", lambda: sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
                continue
            path = Path(name)
            if path.is_dir():
                for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".json"):
                    yield str(file), file.read_bytes
            elif path.exists():
                yield str(path), path.read_bytes
            else:
                yield str(path), _missing(path)

    def report(self, result, label, as_json, show_progress):
        if as_json:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        if show_progress and result.status not in (FAILED,):
            return
        what = f"{result.kind} {result.id}" if result.id else ""
        line = f"{result.status:>9}  {result.uri or label}" + (f"  [{result.agency}]" if result.agency else "")
        line += f"  → {what} {result.url}" if what else ""
        if result.reason:
            line += f"\n           {result.reason}"
        (self.stderr if result.status == FAILED else self.stdout).write(("\n" if show_progress else "") + line)

    def progress(self, done, total, width=30):
        filled = int(width * done / total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} files")
        sys.stderr.flush()


def _failure(reason):
    return Result(uri="", status=FAILED, reason=reason)


def _missing(path):
    def read():
        raise FileNotFoundError(2, "no such file or directory", str(path))

    return read
