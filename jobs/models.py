from django.db import models


class JobPeriod(models.Model):
    """One job's one period, claimed by the runner whose insert won (see `jobs.scheduler`).

    The unique constraint is the lock: however many runners try, one row per job and period commits."""

    job = models.CharField(max_length=100)
    starts_at = models.DateTimeField()
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(auto_now_add=True)
    # The run enqueued for the period; null when the previous run had not finished, so none was.
    task_id = models.UUIDField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "starts_at"], name="jobs_one_run_per_period")]
        indexes = [models.Index(fields=["starts_at"], name="jobs_period_starts_at")]

    def __str__(self):
        return f"{self.job} at {self.starts_at:%Y-%m-%d %H:%M:%S}"


class Runner(models.Model):
    """A live `run_jobs` process. It touches `seen_at` as it goes; the jobs a runner had started when it
    stopped being seen are handed to the others (`jobs.scheduler.recover`)."""

    id = models.CharField(max_length=48, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return self.id
