from .models import SectionPage


def newsroom(request):
    """The section navigation every public page shows."""
    return {"nav_sections": SectionPage.objects.live().public().in_menu().order_by("path")}
