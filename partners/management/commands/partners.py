"""Partners from the command line: add one (its key is printed once), list, show, revoke or re-key.

    python manage.py partners add NAME --site URL [--site URL...] [--email ADDR] [--webhook URL]
    python manage.py partners list [--json]
    python manage.py partners show NAME
    python manage.py partners revoke NAME
    python manage.py partners rekey NAME
"""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction

from partners.models import Partner, PartnerContact, PartnerSite
from partners.summary import feed_addresses, summary
from republish.models import partner_host


class Command(BaseCommand):
    help = "Add, list, show, revoke or re-key partners (outlets that republish through keyed feeds)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="Add a partner; prints its id, key, webhook secret and feeds as JSON.")
        add.add_argument("name")
        add.add_argument("--site", action="append", required=True, help="The partner's site (URL or host); repeat.")
        add.add_argument("--email", action="append", default=[], help="A contact's address; repeat.")
        add.add_argument("--webhook", default="", help="Where Byline posts news of stories (https URL).")
        listing = actions.add_parser("list", help="Every partner.")
        listing.add_argument("--json", action="store_true", dest="as_json")
        for action in ("show", "revoke", "rekey"):
            actions.add_parser(action).add_argument("name")

    def handle(self, *args, action, **options):
        return getattr(self, f"do_{action}")(**options)

    def partner(self, name):
        partner = Partner.objects.filter(name=name).first()
        if partner is None:
            raise CommandError(f"No partner named {name!r}. `partners list` names them all.")
        return partner

    def do_add(self, name, site, email, webhook, **options):
        name = name.strip()
        if not name:
            raise CommandError("A partner needs a name.")
        if Partner.objects.filter(name=name).exists():
            raise CommandError(f"A partner named {name!r} exists already; `partners rekey` issues a new key.")
        hosts = []
        for value in site:
            host = partner_host(value)
            if not host or "." not in host:
                raise CommandError(f"Not a site: {value!r}. Give its address, e.g. https://news.example.org.")
            if PartnerSite.objects.filter(host=host).exists():
                raise CommandError(f"{host} is already a partner's site.")
            hosts.append(host)
        for value, validate in [*((address, EmailValidator()) for address in email),
                                *([(webhook, URLValidator(schemes=["https", "http"]))] if webhook else [])]:
            try:
                validate(value)
            except ValidationError as error:
                raise CommandError(f"{error.messages[0]}: {value!r}") from error
        with transaction.atomic():
            partner = Partner.objects.create(name=name, webhook_url=webhook)
            for host in dict.fromkeys(hosts):
                PartnerSite.objects.create(partner=partner, host=host)
            for address in email:
                PartnerContact.objects.create(partner=partner, email=address)
            key = partner.issue_key()
        self.stdout.write(json.dumps({
            "id": partner.pk, "name": partner.name, "key": key, "webhook_secret": partner.webhook_secret,
            "feeds": feed_addresses(key), "sites": hosts, "contacts": email,
        }, indent=2))

    def do_list(self, as_json=False, **options):
        partners = [summary(partner) for partner in Partner.objects.prefetch_related("sites", "contacts")]
        if as_json:
            self.stdout.write(json.dumps(partners, indent=2))
            return
        if not partners:
            self.stdout.write("No partners yet: `partners add NAME --site URL` adds one.")
        for partner in partners:
            key = f"key {partner['key_hint']}…" if partner["key_hint"] else "no key"
            self.stdout.write(f"{partner['name']} ({partner['status']}, {key}): {', '.join(partner['sites'])}")

    def do_show(self, name, **options):
        self.stdout.write(json.dumps(summary(self.partner(name)), indent=2))

    def do_revoke(self, name, **options):
        partner = self.partner(name)
        partner.revoke()
        self.stdout.write(f"{partner.name}'s key is revoked: its feeds answer 404 from now on. "
                          "`partners rekey` issues a new one.")

    def do_rekey(self, name, **options):
        partner = self.partner(name)
        key = partner.issue_key()
        self.stdout.write(json.dumps({"id": partner.pk, "name": partner.name, "key": key,
                                      "feeds": feed_addresses(key)}, indent=2))
