"""Which periodic jobs exist: each app registers its own from its `AppConfig.ready()`."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command, get_commands, load_command_class
from django.utils.module_loading import import_string

BACKEND = "jobs"  # the TASKS alias of the database backend (settings.TASKS)
QUICK = "quick"  # what readers and editors wait for: publishing, counting, appeals
SLOW = "slow"  # what may take minutes: fetching partners' pages
QUEUES = (QUICK, SLOW)

_jobs = {}


@dataclass(frozen=True)
class Job:
    name: str
    every: int  # seconds, unless settings.JOBS_EVERY says otherwise for this job
    queue: str
    command: str | None = None  # a management command, run with verbosity 0 ...
    options: dict = field(default_factory=dict)  # ... and these options
    function: str | None = None  # or the dotted path of a function taking no arguments
    attempts: int | None = None  # None: settings.JOBS_ATTEMPTS
    description: str = ""

    @property
    def period(self):
        """Seconds between two runs: the registration's, unless settings.JOBS_EVERY overrides it."""
        return _seconds(getattr(settings, "JOBS_EVERY", {}).get(self.name, self.every), self.name)

    @property
    def max_attempts(self):
        return self.attempts if self.attempts is not None else settings.JOBS_ATTEMPTS

    @property
    def summary(self):
        if self.description:
            return self.description
        if self.command:
            return str(load_command_class(get_commands()[self.command], self.command).help or "")
        return ""

    def run(self):
        if self.command:
            call_command(self.command, verbosity=0, **self.options)
        else:
            import_string(self.function)()


def _seconds(every, name):
    seconds = every.total_seconds() if isinstance(every, timedelta) else float(every)
    # Periods are whole seconds so that every runner, on every host, cuts time into the same periods.
    if seconds < 1 or seconds != int(seconds):
        raise ValueError(f"The period of job {name!r} must be a whole number of seconds, not {every!r}.")
    return int(seconds)


def register(name, *, every, queue=QUICK, command=None, options=None, function=None, attempts=None,
             description=""):
    """Run `command` (a management command) or `function` (a dotted path) every `every` seconds (or
    timedelta) on `queue`. The job must be idempotent: a run killed half-way is run again. Registering a
    name again replaces the job."""
    if (command is None) == (function is None):
        raise ValueError(f"Job {name!r}: give a command or a function, not both or neither.")
    if queue not in QUEUES:
        raise ValueError(f"Job {name!r}: queue must be one of {QUEUES}, not {queue!r}.")
    job = Job(name=name, every=_seconds(every, name), queue=queue, command=command, options=dict(options or {}),
              function=function, attempts=attempts, description=description)
    _jobs[name] = job
    return job


def unregister(name):
    _jobs.pop(name, None)


def get(name):
    """The job registered as `name`; KeyError if there is none (any more)."""
    return _jobs[name]


def registered():
    """Every registered job, quick ones first, then by period and name."""
    return sorted(_jobs.values(), key=lambda job: (QUEUES.index(job.queue), job.period, job.name))
