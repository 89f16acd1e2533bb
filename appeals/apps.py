from django.apps import AppConfig


class AppealsConfig(AppConfig):
    name = "appeals"
    verbose_name = "Support appeals"

    def ready(self):
        from . import signals  # noqa: F401
