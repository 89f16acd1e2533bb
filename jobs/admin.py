from django.contrib import admin
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from .tasks import job_name, run_job


class JobResultAdmin(DBTaskResultAdmin):
    """django-tasks-db's own list of task results, with the job each run ran instead of "run_job"."""

    list_display = ("id", "job", "status", "enqueued_at", "started_at", "finished_at", "queue_name")

    @admin.display(description="job")
    def job(self, obj):
        if obj.task_path == run_job.module_path:
            attempt = obj.args_kwargs.get("kwargs", {}).get("attempt", 1)
            return job_name(obj) if attempt == 1 else f"{job_name(obj)} (attempt {attempt})"
        return job_name(obj)


admin.site.unregister(DBTaskResult)
admin.site.register(DBTaskResult, JobResultAdmin)
