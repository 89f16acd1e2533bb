from django.apps import AppConfig


class RepublishConfig(AppConfig):
    name = "republish"
    verbose_name = "Republishing"

    def ready(self):
        from . import signals  # noqa: F401
