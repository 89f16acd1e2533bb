from django.apps import AppConfig


class RepublishConfig(AppConfig):
    name = "republish"
    verbose_name = "Republishing"

    def ready(self):
        from stories.models import StoryPage

        from . import signals  # noqa: F401
        from .panels import EligibilityPanel

        # At the top of the story's Republishing tab, before Wagtail first builds the edit form from it.
        tab = next(panel for panel in StoryPage.edit_handler.children if panel.heading == "Republishing")
        tab.children.insert(0, EligibilityPanel(heading="Can partners republish it?"))
