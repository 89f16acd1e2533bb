from django.apps import AppConfig


class StoriesConfig(AppConfig):
    name = "stories"
    verbose_name = "Stories"

    def ready(self):
        from jobs import QUICK, register

        from . import signals  # noqa: F401

        register("publish_scheduled", command="publish_scheduled", every=60, queue=QUICK,
                 description="Publish and unpublish the pages and snippets scheduled for now (Wagtail's).")
