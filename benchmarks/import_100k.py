"""Benchmark: import a generated CSV of N rows (default 100,000) and report time and peak Python memory.

    .venv/bin/python benchmarks/import_100k.py [--rows 100000] [--keep]

Runs against a throw-away SQLite database in a temporary folder (DATABASE_URL is ignored, so it can never touch a
real database). Memory is measured with tracemalloc around the import only, so it shows what the import itself
holds: it should stay flat as N grows. The slow test in tests/leads/test_csv_io.py asserts the same."""

import argparse
import cProfile
import csv
import os
import pstats
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_rows(path: Path, count: int) -> None:
    """Prospects with one touchpoint each; every 10th person appears twice; a third fit the IMP."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["Email", "First name", "Company", "Industry", "Employees", "Activity", "Date"])
        for i in range(count):
            person = i - 1 if i % 10 == 9 else i
            sector = "Manufacturing" if person % 3 == 0 else "Farming"
            day = f"2026-01-{1 + i % 28:02d} {9 + i % 8}:00"
            writer.writerow([f"p{person}@bulk.example", f"P{person}", f"Org {person}", sector, 150, "webinar", day])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-trace", action="store_true", help="Time only (tracemalloc slows Python down ~2x).")
    parser.add_argument("--profile", action="store_true", help="Print the 30 costliest functions (cProfile).")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sla-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sla_portal.settings")
    os.environ["SLA_VAR_DIR"] = str(workdir)  # a fresh SQLite file
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    settings.DEBUG = False  # no query log growing in memory
    call_command("migrate", verbosity=0, interactive=False)

    from accounts.models import Role, TeamKind, User
    from leads.csv_io import import_csv
    from leads.models import Lead, Touchpoint
    from sla.bootstrap import agreement_bootstrap, teams_ensure

    teams = teams_ensure()
    signers = {
        kind: User.objects.create(username=f"{kind}_lead", team=teams[kind], role=Role.TEAM_LEAD)
        for kind in (TeamKind.MARKETING, TeamKind.OUTREACH, TeamKind.MEMBER_SUCCESS)
    }
    admin = User.objects.create(username="bench_admin", is_superuser=True, role=Role.ADMIN)
    agreement_bootstrap(signers=signers, by=admin)
    by = signers[TeamKind.MARKETING]

    path = workdir / "leads.csv"
    write_rows(path, args.rows)
    mapping = {
        "email": "Email",
        "first_name": "First name",
        "organisation": "Company",
        "sector": "Industry",
        "employees": "Employees",
        "touchpoint_kind": "Activity",
        "touchpoint_at": "Date",
    }
    if not args.no_trace:
        tracemalloc.start()
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    stats = import_csv(lambda: path.open("rb"), mapping=mapping, by=by, size=path.stat().st_size)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory() if not args.no_trace else (0, 0)
    tracemalloc.stop()
    print(
        f"{connection.vendor}: {stats.rows:,} rows ({path.stat().st_size / 2**20:.1f} MiB) in {elapsed:.1f}s "
        f"({stats.rows / elapsed:,.0f} rows/s); peak traced memory {peak / 2**20:.1f} MiB; "
        f"{stats.created:,} created, {stats.touchpoints:,} touchpoints, {stats.qualified:,} qualified; "
        f"leads in db {Lead.objects.count():,}, touchpoints {Touchpoint.objects.count():,}"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(30)


if __name__ == "__main__":
    main()
