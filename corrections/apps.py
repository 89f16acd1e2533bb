from django.apps import AppConfig


class CorrectionsConfig(AppConfig):
    name = "corrections"
    verbose_name = "Corrections to republished copies"

    def ready(self):
        from jobs import SLOW, register

        # SLOW, not QUICK: one webhook may take its whole deadline (NOTICE_WEBHOOK_TIMEOUT, 15 s) to fail, and a
        # pass over partners that are down could hold the quick queue's one worker, and the publishing and
        # counting behind it, for minutes. On the slow queue a notice waits at worst behind a verification run
        # (5 minutes); it is retried for a day anyway. The budget ends a run's claiming within its minute: what
        # is left goes in the next run, and the slow queue's other jobs get their turn in between.
        register("send_notices", command="send_notices", options={"budget": 45}, every=60, queue=SLOW)
        # Whether copies took their corrections: a day after each notice, then daily while they have not.
        register("check_corrections", command="check_corrections", every=3600, queue=SLOW)

        from stories.models import StoryPage

        from . import signals  # noqa: F401
        from .panels import CorrectionsPanel

        # At the end of the story's Republishing tab, before Wagtail first builds the edit form from it.
        tab = next(panel for panel in StoryPage.edit_handler.children if panel.heading == "Republishing")
        tab.children.append(CorrectionsPanel(heading="Corrections sent to republished copies"))
