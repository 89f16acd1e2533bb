from django.apps import AppConfig


class RunnerTestsConfig(AppConfig):
    name = "jobs.tests.runner_app"
    label = "jobs_runner_tests"

    def ready(self):
        from jobs import SLOW, register

        register("test_hold", function="jobs.tests.runner_app.work.hold", every=3600, queue=SLOW)
