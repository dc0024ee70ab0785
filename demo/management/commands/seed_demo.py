import sys
import time

from django.core.management.base import BaseCommand

from demo.seed import CAST, PASSWORD, demo_exists, seed_demo


class Command(BaseCommand):
    help = "Load a year of demo history (leads, hand-offs, members, escalations) once; rerunning changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--leads-per-day", type=float, default=2.6)

    def handle(self, *args, days, leads_per_day, **options):
        if demo_exists():
            self.stdout.write("Demo data already loaded; nothing to do.")
        else:
            started = time.monotonic()
            self.stdout.write(f"Replaying {days} days of history through the services (about a minute)…")
            world = seed_demo(days=days, leads_per_day=leads_per_day, progress=self._progress(days))
            sys.stdout.write("\n")
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data loaded in {time.monotonic() - started:.0f} s ({world.sim.errors} refused actions)."
                )
            )
        self.stdout.write(f"\nLogins (password for all: {PASSWORD}):")
        for username, team, role, first, last in CAST:
            self.stdout.write(f"  {username:<16} {first} {last}, {role.label}{f' – {team.label}' if team else ''}")

    def _progress(self, days: int):
        state = {"n": 0}

        def show(moment):
            state["n"] += 1
            done = min(state["n"] / max(days, 1), 1)
            tty = sys.stdout.isatty()
            if state["n"] % (7 if tty else 60) and done < 1:  # keep logs short when not on a terminal
                return
            bar = "#" * int(done * 30)
            end = "\r" if tty else "\n"
            sys.stdout.write(f"  [{bar:<30}] {done:4.0%}  {moment:%Y-%m-%d}{end}")
            sys.stdout.flush()

        return show
