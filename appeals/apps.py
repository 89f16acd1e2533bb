from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = "Support appeals"

    def ready(self):
        from jobs import QUICK, register

        from . import signals  # noqa: F401

        register("switch_appeals", command="switch_appeals", every=60, queue=QUICK)
        register("count_appeals", command="count_appeals", every=60, queue=QUICK)
