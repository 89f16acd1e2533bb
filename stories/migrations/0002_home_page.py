"""Replace Wagtail's placeholder welcome page with our home page, so a fresh install has a working front page."""

from django.db import migrations


def _base36(number):
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def create_home_page(apps, schema_editor):
    ContentType = apps.get_model("contenttypes.ContentType")
    Page = apps.get_model("wagtailcore.Page")
    Site = apps.get_model("wagtailcore.Site")
    HomePage = apps.get_model("stories.HomePage")
    Locale = apps.get_model("wagtailcore.Locale")

    if HomePage.objects.exists():
        return
    page_type = ContentType.objects.get_for_model(Page)
    placeholder = Page.objects.filter(depth=2, content_type=page_type, numchild=0).first()
    root = Page.objects.filter(depth=1).first()
    if root is None:
        return
    path, url_path = "00010001", "/home/"
    if placeholder is not None:
        path = placeholder.path
        placeholder.delete()
        root.numchild -= 1
    else:
        last = Page.objects.filter(depth=2).order_by("-path").first()
        if last is not None:
            path = "0001" + _base36(int(last.path[4:8], 36) + 1).rjust(4, "0")
            url_path = "/home-2/"
    home_type, _ = ContentType.objects.get_or_create(model="homepage", app_label="stories")
    home = HomePage.objects.create(
        title="Home", draft_title="Home", slug=url_path.strip("/"), content_type=home_type, path=path, depth=2,
        numchild=0, url_path=url_path, locale=Locale.objects.first(), live=True,
    )
    root.numchild += 1
    root.save(update_fields=["numchild"])
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(hostname="localhost", root_page=home, is_default_site=True, site_name="Byline")
    else:
        site.root_page = home
        site.save(update_fields=["root_page"])


class Migration(migrations.Migration):
    dependencies = [
        ("stories", "0001_initial"),
        ("wagtailcore", "0098_apitoken"),
    ]

    operations = [migrations.RunPython(create_home_page, migrations.RunPython.noop)]
