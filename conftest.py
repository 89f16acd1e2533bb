"""Fixtures shared by every app's tests: a site with a home page, and a real Chromium for browser tests."""

import os
import shutil

import pytest
from wagtail.models import Site

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make between
# browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: pages, Most Popular and settings cached by another test
    (whose ids the database may hand out again) must not leak into it."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def fresh_copy_cap():
    """Each test's readers start with no copies counted today: the pixel's cap (tracking.filters.CopyCap)
    lives as long as the process, and another test's story may have had the same id."""
    from tracking.hits import copy_cap

    copy_cap.clear()


@pytest.fixture
def home(db):
    """The home page the migrations create (re-created after a transactional test flushed it)."""
    from wagtail.models import Locale, Page

    from stories.models import HomePage

    home = HomePage.objects.first()
    if home is None:
        Locale.objects.get_or_create(language_code="en")
        root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
        home = root.add_child(instance=HomePage(title="Home", slug="home"))
    return home


@pytest.fixture
def site(home):
    site = Site.objects.filter(is_default_site=True).first() or Site(is_default_site=True)
    site.hostname, site.port, site.root_page = "testserver", 80, home
    site.save()
    return site


@pytest.fixture
def news(site, home):
    from stories.factories import SectionPageFactory

    return SectionPageFactory(parent=home, title="News", slug="news", show_in_menus=True)


@pytest.fixture
def newsroom(site):
    """The newsroom's settings with the demo outlet's name."""
    from stories.factories import NewsroomSettingsFactory

    return NewsroomSettingsFactory(site=site, outlet_name="The Harbor Ledger")


@pytest.fixture
def support(site):
    """The support appeal, store promo and free-to-read line, all switched on with known words."""
    from appeals.factories import SupportSettingsFactory

    return SupportSettingsFactory(site=site)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    # Never skipped: a missing browser is a failure (run `make browsers`).
    assert os.path.exists(CHROMIUM), f"Chromium not found at {CHROMIUM}: run `make browsers`"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_site(live_server, site):
    """The default Wagtail site pointed at the live server, so full URLs in pages resolve there. A page that
    shows an appeal starts the appeals' group-commit writer, whose thread has a connection of its own: it is
    stopped afterwards, so that the connection closes before the test database is dropped."""
    from appeals import recording

    host, port = live_server.url.split("//")[1].split(":")
    site.hostname, site.port = host, int(port)
    site.save()
    yield live_server
    recording.recorder.stop()


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    yield page
    context.close()
