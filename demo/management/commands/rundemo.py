"""Serve the portal and run the SLA checks beside it, with nothing but Python: a Celery worker with an
embedded beat scheduler on the filesystem broker (or on Redis when REDIS_URL is set)."""

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server and a Celery worker + beat (the SLA clock sweep, notifications, KPI jobs)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true", help="Serve pages only.")

    def handle(self, *args, addr, no_worker, **options):
        worker = None
        if not no_worker:
            log = open(settings.VAR_DIR / "worker.log", "ab")  # noqa: SIM115 - lives as long as the worker
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "sla_portal",
                    "worker",
                    "--beat",
                    "--pool",
                    "solo",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(settings.VAR_DIR / "celerybeat-schedule"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=os.environ.copy(),
            )
            self.stdout.write(f"SLA checks running (Celery worker + beat, pid {worker.pid}; log: var/worker.log)")
        self.stdout.write(self.style.SUCCESS(f"\nSLA Portal: http://{addr}/   (sign in as marketing.lead / demo1234)"))
        self.stdout.write(f"Django admin: http://{addr}/admin/ (admin / demo1234). Stop with Ctrl+C.\n")
        # SIGTERM (e.g. `kill`) must also reach the finally below, or the worker outlives the server.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command("runserver", addr, use_reloader=False)
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
