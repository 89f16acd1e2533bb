from wagtail.admin.panels import Panel

from .report import story_summary


class CorrectionsPanel(Panel):
    """On the story's Republishing tab: its published corrections and updates, and what their copies did."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "corrections/admin/corrections_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["summary"] = story_summary(self.instance) if self.instance.pk else []
            return context
