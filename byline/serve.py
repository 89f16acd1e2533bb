"""granian, with the application loaded once before the workers start: what deploy/'s units run.

    python -m byline.serve [granian's options] byline.wsgi:application

granian's own command loads the application in each worker it starts, which takes Django and Wagtail 4-5 s on a
2-core host: the replacement for a worker that died (--respawn-failed-workers) answered only after that long,
while the pixel server, with one worker, refused every hit. Loaded here first, the workers granian forks inherit
it (and share its memory, which byline.wsgi freezes for the collector), and a replacement answers in under a
second.

Nothing opens a connection or starts a thread while byline.wsgi loads (the hit writer and the pixel's journal
start in each worker, on first use), so nothing is shared by accident. Where multiprocessing does not fork
(Python 3.14 starts workers afresh), each worker loads the application itself, as with `granian`.

New code needs a restart (systemctl restart): workers replaced later come from the application loaded at start.
"""

import sys

from granian.cli import entrypoint


def main():
    import byline.wsgi  # noqa: F401  (here, in granian's main process, for the workers it forks)

    sys.argv[0] = "granian"  # in its messages
    return entrypoint()


if __name__ == "__main__":
    sys.exit(main())
