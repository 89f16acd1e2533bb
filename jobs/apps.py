from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .registry import SLOW, register

        register("prune_jobs", function="jobs.tasks.prune", every=3600, queue=SLOW,
                 description="Forget finished runs after JOBS_KEEP_DAYS, and past periods.")
