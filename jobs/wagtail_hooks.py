from django.urls import reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem


class JobResultsMenuItem(MenuItem):
    def is_shown(self, request):
        # The list lives in Django's admin, which only lets staff in.
        return request.user.is_staff and request.user.has_perm("django_tasks_database.view_dbtaskresult")


@hooks.register("register_settings_menu_item")
def register_job_results_menu_item():
    return JobResultsMenuItem("Jobs", reverse("admin:django_tasks_database_dbtaskresult_changelist"),
                              name="jobs", icon_name="history", order=900)
