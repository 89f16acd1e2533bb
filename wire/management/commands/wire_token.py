"""Agencies' push tokens from the command line, for operators' scripts: the Wire desk's token form and list.

    manage.py wire_token create --agency NAME [--name LABEL]   # prints the new token, once, alone on stdout
    manage.py wire_token list                                   # agency, hint, name, created, last used, revoked
    manage.py wire_token revoke HINT                            # the hint as `list` shows it

As in the admin, only the token's hash is stored: the token itself is printed once and cannot be shown again.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from stories.models import Origin
from wire.importer import find_origin
from wire.models import AgencyToken


class Command(BaseCommand):
    help = "Create, list and revoke the tokens agencies push ninjs with (POST /api/wire/ninjs)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="a new token for an agency, printed once")
        create.add_argument("--agency", required=True, metavar="NAME",
                            help="the agency's origin (name or short name); created as a wire service whose "
                                 "stories may not be republished when there is none")
        create.add_argument("--name", metavar="LABEL", help="who holds it, e.g. 'JTA wire feed' (default: the agency)")
        actions.add_parser("list", help="every token, revoked ones too")
        revoke = actions.add_parser("revoke", help="end a token at once")
        revoke.add_argument("hint", metavar="HINT", help="the token's hint, as `list` shows it")

    def handle(self, *args, action, **options):
        getattr(self, action)(**options)

    def create(self, agency, name, **options):
        with transaction.atomic():
            existed = Origin.objects.filter(name__iexact=agency).exists() or Origin.objects.filter(
                short_name__iexact=agency).exists()
            origin = find_origin(agency)
            if origin.is_own:
                raise CommandError(f"{origin.name} is our own newsroom, not an agency")
            token, secret = AgencyToken.issue(name=(name or origin.name)[:120], origin=origin)
        # Only the secret goes to standard output, so that a script can take it: TOKEN=$(... wire_token create ...)
        if not existed:
            self.stderr.write(f"Created the agency {origin.name}: a wire service whose stories may not be republished.")
        elif origin.allows_republishing:
            self.stderr.write(f"Note: {origin.name}'s stories may be republished (Snippets → Origins), and so may "
                              f"those pushed with this token.")
        self.stderr.write(f"Token {token.hint} for {origin.name} ({token.name}). It is shown once, now: keep it. "
                          f"The agency sends it as 'Authorization: Bearer <token>'.")
        self.stdout.write(secret)

    def list(self, **options):
        rows = [("AGENCY", "HINT", "NAME", "CREATED", "LAST USED", "REVOKED")]
        for token in AgencyToken.objects.select_related("origin").order_by("created_at", "pk"):
            rows.append((token.origin.name, token.hint, token.name, _when(token.created_at),
                         _when(token.last_used_at, "never"), _when(token.revoked_at, "no")))
        if len(rows) == 1:
            self.stderr.write("No agency has a token yet: wire_token create --agency NAME makes one.")
            return
        widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

    def revoke(self, hint, **options):
        hint = hint.strip().rstrip("….")  # as the admin shows it, "bylw_AbCdE…", works too
        tokens = list(AgencyToken.objects.select_related("origin").filter(hint=hint))
        if not tokens:
            raise CommandError(f"no token has the hint {hint!r} (wire_token list shows them)")
        active = [token for token in tokens if token.is_active]
        if len(active) > 1:
            # Tokens issued before hints were kept unique may share one: refuse rather than guess.
            raise CommandError(f"{len(active)} active tokens have the hint {hint!r}: revoke yours in the Wire desk")
        if not active:
            self.stdout.write(f"{hint} ({tokens[0].origin.name}) was already revoked on {_when(tokens[0].revoked_at)}.")
            return
        token = active[0]
        token.revoke()
        self.stdout.write(f"Revoked {token.hint} ({token.origin.name}, {token.name}): pushes with it are refused "
                          f"from now on.")


def _when(moment, empty=""):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else empty
