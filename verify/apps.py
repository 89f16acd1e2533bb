from django.apps import AppConfig


class VerifyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "verify"
    verbose_name = "Verifying copies"

    def ready(self):
        from jobs import SLOW, register

        # Each run checks copies one after another in the slow queue's thread (the "default" task backend runs
        # verify_copy at once): 50 copies in at most 5 minutes every 10, the pace of 5 a minute it always had.
        register("verify_due_copies", command="verify_due_copies", options={"limit": 50, "budget": 300},
                 every=600, queue=SLOW)
        # Finding the pages of copies known only by their site reads a few feeds and pages per copy.
        register("discover_copies", command="discover_copies", options={"limit": 10}, every=600, queue=SLOW)
