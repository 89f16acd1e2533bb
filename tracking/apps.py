from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Readers and copies"

    def ready(self):
        from jobs import QUICK, register

        # More often with BYLINE_JOBS_EVERY="count_hits=15": a run that finds nothing new is one small query.
        register("count_hits", command="count_hits", every=60, queue=QUICK)
