"""Load the demo newsroom: sections, authors, origins, stories with generated lead images, site settings.

Built with the same factories as the tests (each app's `factories.py`). Safe to run again: whatever already
exists (matched by slug or name) is left exactly as editors left it, and only what is missing is created.
"""

import io
import json
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.images import ImageFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from wagtail.models import Site
from wagtail.rich_text import RichText

from appeals.factories import SupportSettingsFactory
from byline.sanitize import clean_html
from images.factories import BylineImageFactory, gradient_jpeg
from images.models import BylineImage
from stories.factories import (
    AuthorFactory,
    CorrectionFactory,
    NewsroomSettingsFactory,
    OriginFactory,
    SectionPageFactory,
    StoryPageFactory,
)
from stories.models import HomePage, NewsroomSettings, SectionPage, StoryPage

CONTENT = Path(__file__).resolve().parents[2] / "content.json"


class Command(BaseCommand):
    help = "Load the demo newsroom (original fiction). Existing content and edits are kept."

    def add_arguments(self, parser):
        parser.add_argument("--content", default=str(CONTENT), help="JSON file of demo content.")
        parser.add_argument("--no-admin", action="store_true", help="Do not create the admin account.")

    def handle(self, *args, content, no_admin, **options):
        data = json.loads(Path(content).read_text(encoding="utf-8"))
        with transaction.atomic():
            site, home = self.site_and_home(data)
            sections = self.sections(home, data["sections"])
            origins = self.origins(data["origins"])
            authors = self.authors(data["authors"])
            created = self.stories(sections, origins, authors, data["stories"])
        self.stdout.write(f"Demo content: {created} new stories ({StoryPage.objects.count()} in all).")
        if not no_admin:
            self.admin_account()

    def site_and_home(self, data):
        home = HomePage.objects.first()
        if home is None:
            raise SystemExit("No home page: run `python manage.py migrate` first.")
        site = Site.objects.filter(is_default_site=True).first() or Site.objects.create(
            hostname="localhost", root_page=home, is_default_site=True
        )
        newsroom = NewsroomSettings.for_site(site)
        if newsroom.pk is None or newsroom.outlet_name == NewsroomSettings._meta.get_field("outlet_name").default:
            public = urlsplit(settings.WAGTAILADMIN_BASE_URL)
            site.hostname = public.hostname or "localhost"
            site.port = public.port or (443 if public.scheme == "https" else 80)
            site.site_name = data["outlet"]["name"]
            site.root_page = home
            site.save()
            NewsroomSettingsFactory(site=site, outlet_name=data["outlet"]["name"], tagline=data["outlet"]["tagline"])
            appeal, promo = data["appeal"], data["store_promo"]
            SupportSettingsFactory(
                site=site,
                appeal_heading=appeal["heading"],
                appeal_message=clean_html(appeal["message_html"]),
                signature_name=data["outlet"]["publisher_name"],
                signature_title=data["outlet"]["publisher_title"],
                button_label=appeal["button_label"],
                button_url=appeal["button_url"],
                free_to_read_line=data["free_to_read_line"],
                store_promo_enabled=True,
                store_promo_heading=promo["heading"],
                store_promo_text=promo["text"],
                store_promo_label=promo["button_label"],
                store_promo_url=promo["url"],
            )
        if home.title == "Home":
            home.title = data["outlet"]["name"]
            home.save_revision().publish()
        return site, home

    def sections(self, home, entries):
        sections = {}
        for entry in entries:
            section = SectionPage.objects.filter(slug=entry["slug"]).first()
            if section is None:
                section = SectionPageFactory(parent=home, title=entry["title"], slug=entry["slug"],
                                             description=entry["description"], show_in_menus=True)
                section.save_revision().publish()
            sections[entry["slug"]] = section
        return sections

    def origins(self, entries):
        # OriginFactory gets or creates by name: an origin an editor changed keeps its changes.
        return {
            entry["key"]: OriginFactory(name=entry["name"], short_name=entry["short_name"], kind=entry["kind"],
                                        url=entry.get("url", ""))
            for entry in entries
        }

    def authors(self, entries):
        # AuthorFactory gets or creates by slug: an author an editor changed keeps their changes.
        return {
            entry["key"]: AuthorFactory(
                slug=entry["key"], **{key: entry[key] for key in ("name", "role", "bio", "email", "social_handle",
                                                                  "pronoun")}
            )
            for entry in entries
        }

    def stories(self, sections, origins, authors, entries):
        now = timezone.now()
        created = 0
        for entry in entries:
            if StoryPage.objects.filter(slug=entry["slug"]).exists():
                continue
            published = now - timedelta(hours=entry["published_hours_ago"])
            updated = entry.get("updated_hours_ago")
            story = StoryPageFactory(
                parent=sections[entry["section"]],
                title=entry["headline"],
                slug=entry["slug"],
                dek=entry.get("dek", ""),
                dateline_place=entry.get("dateline", ""),
                origin=origins[entry["origin"]] if entry.get("origin") else None,
                lead_image=self.image(entry),
                body=[self.block(block) for block in entry["body"]],
                updated_at=now - timedelta(hours=updated) if updated is not None else None,
                search_description=entry.get("dek", ""),
                first_published_at=published,
                authors=[authors[key] for key in entry["authors"]],
            )
            for order, correction in enumerate(entry.get("corrections", [])):
                CorrectionFactory(
                    story=story, sort_order=order, text=clean_html(f"<p>{correction['text']}</p>"),
                    date=(now - timedelta(days=correction["days_ago"])).date(),
                )
            story.tags.add(*entry.get("tags", []))
            story.save_revision().publish()
            # Publishing stamps now; the demo's stories were published over the past days.
            StoryPage.objects.filter(pk=story.pk).update(first_published_at=published, last_published_at=published)
            created += 1
        return created

    def block(self, block):
        if block["type"] == "paragraph":
            return ("paragraph", RichText(clean_html(block["html"])))
        if block["type"] == "heading":
            return ("heading", block["text"])
        if block["type"] == "quote":
            return ("quote", {"text": block["text"], "attribution": block.get("attribution", "")})
        raise ValueError(f"Unknown block type in demo content: {block['type']!r}")

    def image(self, entry):
        spec = entry.get("image")
        if not spec:
            return None
        existing = BylineImage.objects.filter(title=spec["title"]).first()
        if existing:
            return existing
        jpeg = gradient_jpeg(spec.get("colors", ("#1d3557", "#a8dadc")), label=spec["title"])
        return BylineImageFactory(
            title=spec["title"], credit=spec["credit"], default_caption=spec["caption"],
            file=ImageFile(io.BytesIO(jpeg), name=f"{entry['slug']}.jpg"),
        )

    def admin_account(self):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                f"Admin: {settings.WAGTAILADMIN_BASE_URL}/admin/ (an account exists already; "
                "`python manage.py changepassword admin` sets a new password)."
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@example.org", password)
        self.stdout.write(self.style.SUCCESS(
            f"Admin: {settings.WAGTAILADMIN_BASE_URL}/admin/  user: admin  password: {password}\n"
            "(shown once; `python manage.py changepassword admin` sets another)"
        ))
