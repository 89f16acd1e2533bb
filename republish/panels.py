from wagtail.admin.panels import Panel


class EligibilityPanel(Panel):
    """Shows editors, on the story's Republishing tab, whether partners may republish it now and why."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "republish/admin/eligibility_panel.html"

        def get_context_data(self, parent_context=None):
            # Imported here: the story model that declares this panel is itself imported by these modules.
            from .eligibility import is_republishable
            from .models import RepublishingPolicy

            context = super().get_context_data(parent_context)
            story = self.instance
            if story.pk and story.get_parent() is not None:
                context["decision"] = is_republishable(story, RepublishingPolicy.for_site(story.get_site()))
            return context
