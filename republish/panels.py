from wagtail.admin.panels import Panel

from .eligibility import is_republishable
from .models import RepublishingPolicy


class EligibilityPanel(Panel):
    """Shows editors, at the top of the story's Republishing tab (put there by republish/apps.py), whether
    partners may republish it now and why."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "republish/admin/eligibility_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            story = self.instance
            if story.pk and story.get_parent() is not None:
                context["decision"] = is_republishable(story, RepublishingPolicy.for_site(story.get_site()))
            return context
