import signal
import threading

from django.core.management.base import BaseCommand

from tracking.nginx_log import NginxPixelLog


class Command(BaseCommand):
    help = ("Store the pixel hits nginx answered itself (deploy/nginx/pixel-log.conf): read its pixel log "
            "(BYLINE_PIXEL_LOG_DIR) until stopped, or once with --once.")

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="store what is there now, then stop")
        parser.add_argument("--directory", help="the log's directory (default: settings.PIXEL_LOG_DIR)")

    def handle(self, *args, once=False, directory=None, **options):
        log = NginxPixelLog(directory)
        if once:
            total = 0
            while read := log.ingest():
                total += read
            if options["verbosity"] > 0:
                self.stdout.write(f"Read {total} lines of {log.directory}.")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):  # systemd's stop: finish the batch, then leave
            signal.signal(sig, lambda *_: stop.set())
        log.run(stop)
