"""`python manage.py run_jobs`: Byline's periodic jobs, on one host or several (see `jobs.scheduler`)."""

import argparse
import logging
import os
import signal
import sys
import textwrap
import time

from django.core.management.base import BaseCommand, CommandError

from jobs import registry
from jobs.runner import Runner

logger = logging.getLogger("jobs")


def every(seconds):
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def job_table():
    rows = [(job.name, every(job.period), job.queue, job.summary) for job in registry.registered()]
    if not rows:
        return "No jobs are registered."
    width = max(len(name) for name, *_ in rows)
    lines = [f"  {name:<{width}}  every {period:<7} {queue:<6} {summary}" for name, period, queue, summary in rows]
    return "jobs (name, period, queue):\n" + "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Run the periodic jobs until stopped: enqueue each once per period (however many runners share the "
        "database) and work the quick and slow queues, each in a thread of its own. SIGTERM or Ctrl-C stops "
        "it after the running jobs finish (within --grace seconds; a second signal, or the end of the grace, "
        "hands them back to the queue for another run)."
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Raw, so that the table of jobs keeps its lines; the description is wrapped here instead.
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.description = textwrap.fill(self.help, 100)
        parser.epilog = job_table()
        return parser

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="Enqueue the jobs whose period has begun and not been claimed, run everything "
                                 "ready on every queue, then exit (for cron, and tests).")
        parser.add_argument("--grace", type=float, default=30.0,
                            help="Seconds a stop waits for running jobs before handing them back (default 30).")
        parser.add_argument("--poll", type=float, default=1.0,
                            help="Seconds between looks at an idle queue (default 1).")

    def handle(self, *args, once, grace, poll, verbosity, **options):
        logger.setLevel({0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG))
        runner = Runner(poll=poll)
        if once:
            runner.run_once()
            return

        signals = []

        def note(signum, frame):
            # Only noted: the loop below acts on it. The handler runs between any two bytecodes of the main
            # thread, where taking a lock (setting an Event) could deadlock.
            signals.append(signum)

        # A SIGINT ignored at start (a background job of a shell script, as scripts/serve-dev starts us) stays
        # ignored: Ctrl-C there is meant for the foreground server, and the script stops us with SIGTERM.
        stop_signals = [signal.SIGTERM] + ([signal.SIGINT] if signal.getsignal(signal.SIGINT) != signal.SIG_IGN else [])
        previous = {sig: signal.signal(sig, note) for sig in stop_signals}
        runner.start()
        finished = False
        try:
            while not signals:
                if not runner.alive():
                    raise CommandError("A runner thread stopped unexpectedly; see the log above.")
                time.sleep(0.2)
            logger.info("%s: stopping once the running jobs finish (up to %g s; signal again to stop now).",
                        signal.strsignal(signals[0]), grace)
            runner.stop()
            finished = runner.wait(grace, interrupted=lambda: len(signals) > 1)
        finally:
            runner.stop()
            if not finished:
                runner.abandon()
            runner.close()
            for sig, old in previous.items():
                signal.signal(sig, old)
        logger.info("Runner %s stopped.", runner.id)
        if not finished:
            # Threads still inside a job would carry on while the interpreter shuts down; leave now instead:
            # their transactions roll back with their connections, and the abandoned tasks run again elsewhere.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
