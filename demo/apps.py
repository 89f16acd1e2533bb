from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo newsroom (`manage.py load_demo`): built with every app's factories, so it depends on them all and
    nothing depends on it."""

    name = "demo"
    verbose_name = "Demo content"
