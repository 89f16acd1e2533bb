"""The Content-Security-Policy in a real Chromium: a story page with everything on it (appeal, republish dialog,
protected e-mail, JSON-LD, a video embed), the republish page, and the Wagtail admin an editor works in, all
without a single violation. Chromium reports each one as a `securitypolicyviolation` event and on the console."""

import pytest
from wagtail.embeds.embeds import get_embed_hash
from wagtail.embeds.models import Embed

from images.factories import BylineImageFactory
from stories.factories import AuthorFactory, StoryPageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
        window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"}`
                                    + ` at ${e.sourceFile}:${e.lineNumber} (${e.sample})`);
    });
}"""
VIDEO = "https://www.youtube.com/watch?v=harbor"


class Violations:
    """Every CSP violation a page reports, from its events and its console."""

    def __init__(self, page):
        self.page, self.console = page, []
        page.add_init_script(f"({WATCH})()")
        page.on("console", self._console)

    def _console(self, message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def all(self):
        return self.console + self.page.evaluate("window.__cspViolations || []")


@pytest.fixture
def watched_page(chromium):
    context = chromium.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    yield page, Violations(page)
    context.close()


def test_a_story_page_with_its_appeal_and_republish_dialog_breaks_no_rule(live_site, news, support, watched_page):
    Embed.objects.create(url=VIDEO, hash=get_embed_hash(VIDEO), type="video", provider_name="YouTube",
                         html='<iframe src="https://www.youtube.com/embed/harbor" width="560" height="315" '
                              'title="Harbor video" allowfullscreen></iframe>')
    author = AuthorFactory(name="Rosa Delgado", email="rosa@ledger.example")
    story = StoryPageFactory(parent=news, title="Harbor cleanup begins", authors=[author],
                             lead_image=BylineImageFactory(credit="Getty Images"),
                             body=[("paragraph", "<p>Dredging starts Monday.</p>"), ("embed", VIDEO)])
    page, violations = watched_page

    response = page.goto(live_site.url + story.url)
    policy = response.headers["content-security-policy"]
    # django-csp does not promise an order of directives: read them as a mapping.
    directives = dict(part.strip().partition(" ")[::2] for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and directives["object-src"] == "'none'"
    assert page.locator("script[type='application/ld+json']").count() == 1
    page.locator("a.email").wait_for()  # byline.js ran
    appeal = page.locator("section.appeal")
    appeal.scroll_into_view_if_needed()
    assert appeal.get_by_role("heading").inner_text() == "Keep the Bay Coast informed"
    assert page.locator(".embed iframe").get_attribute("src") == "https://www.youtube.com/embed/harbor"

    page.get_by_role("link", name="Republish This Story").click()
    page.get_by_role("dialog").wait_for()
    page.get_by_role("button", name="Copy HTML").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    page.keyboard.press("Escape")

    page.goto(f"{live_site.url}/republish/{story.pk}/")
    page.get_by_role("button", name="Copy text").click()
    page.get_by_text("Copied to the clipboard.").wait_for()
    assert violations.all() == []


def test_an_editor_in_the_wagtail_admin_breaks_no_rule(live_site, news, client, django_user_model, watched_page):
    story = StoryPageFactory(parent=news, title="Harbor cleanup begins")
    editor = django_user_model.objects.create_superuser("editor", "editor@newsroom.example", "pw")
    client.force_login(editor)
    page, violations = watched_page
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_site.url}])

    for path in ["/admin/", f"/admin/pages/{news.pk}/", f"/admin/pages/{story.pk}/edit/", "/admin/images/",
                 "/admin/snippets/", "/django-admin/"]:
        response = page.goto(live_site.url + path)
        assert response.ok, path
        assert "'unsafe-inline'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
        assert violations.all() == [], path

    page.goto(f"{live_site.url}/admin/pages/{story.pk}/edit/")
    page.get_by_role("button", name="Toggle preview").click()
    page.wait_for_load_state("networkidle")
    page.wait_for_function("""() => [...document.querySelectorAll("iframe[title='Preview']")].some(
        (frame) => frame.contentDocument && frame.contentDocument.querySelector("h1.story__headline"))""")
    assert violations.all() == []

    # The public story with Wagtail's userbar, as an editor sees it.
    page.goto(live_site.url + story.url)
    page.locator("wagtail-userbar").wait_for(state="attached")
    page.wait_for_load_state("networkidle")
    assert violations.all() == []
