"""The reach report for funders: `python manage.py reach_report --from YYYY-MM-DD --to YYYY-MM-DD
[--partner NAME] --format pdf|html|csv [--output FILE]` (partners/reach.py builds and renders it)."""

from django.core.management.base import BaseCommand, CommandError

from byline.sanitize import visible_controls
from partners import reach


class Command(BaseCommand):
    help = (
        "The reach report for funders: readers on our site and on republished copies, the extra reach "
        "republishing brings, each partner's copies, views and readers, the top stories by copies and by "
        "readers, readers per week and how they are counted. Whole UTC days, both dates included. Reports what "
        "the counting job (count_hits) has counted. Written to standard output unless --output is given."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", metavar="YYYY-MM-DD", required=True,
                            help="The first UTC day counted.")
        parser.add_argument("--to", dest="end", metavar="YYYY-MM-DD", required=True,
                            help="The last UTC day counted (included).")
        parser.add_argument("--partner", metavar="NAME",
                            help="Only this partner's copies (its name as in the admin); our site is still shown.")
        parser.add_argument("--format", dest="fmt", metavar="pdf|html|csv", required=True,
                            help="pdf (the HTML page drawn by WeasyPrint), html (one self-contained page) or csv "
                                 "(one row per figure and table row; the layout is in partners/reach.py).")
        parser.add_argument("--output", metavar="FILE", help="Write the report to FILE instead of standard output.")

    def handle(self, *args, start, end, partner=None, fmt, output=None, **options):
        try:
            fmt = reach.check_format(fmt)
            period = reach.parse_period(start, end)
            chosen = reach.find_partner(partner) if partner is not None else None
        except reach.ReachError as error:
            raise CommandError(visible_controls(str(error))) from None
        content = reach.render(reach.build(period.start, period.end, chosen), fmt)
        if output:
            try:
                with open(output, "wb") as file:
                    file.write(content)
            except OSError as error:
                raise CommandError(f"Cannot write {output}: {error.strerror or error}.") from None
            return
        self.write_to_stdout(content, fmt)

    def write_to_stdout(self, content, fmt):
        stream = getattr(self.stdout, "_out", self.stdout)
        if fmt == "pdf":
            if stream.isatty():
                raise CommandError("A PDF would garble the terminal: give --output FILE or redirect the output.")
            buffer = getattr(stream, "buffer", None)
            if buffer is None:
                raise CommandError("A PDF needs a binary output: give --output FILE.")
            stream.flush()
            buffer.write(content)
            buffer.flush()
        else:
            self.stdout.write(content.decode("utf-8"), ending="")
