"""Benchmark: the minute-by-minute clock sweep must cost the same however many clocks have ever existed.

    .venv/bin/python benchmarks/sweep_scale.py [--small 1000] [--large 100000] [--due 50]

Builds a throw-away SQLite database (DATABASE_URL is ignored), fills it with `small` finished clocks, times the
sweep (idle, then with `due` clocks to breach), grows the table to `large` finished clocks and times it again.
The report is the ratio large/small measured in the same run: close to 1 means the sweep's cost follows the due
clocks, not the table (the partial indexes `clock_warn_sweep` and `clock_due_sweep` at work)."""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NOW = datetime(2026, 11, 9, 12, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=50)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="sweep-bench-")
    os.environ["SLA_VAR_DIR"] = workdir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sla_portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import transaction

    from accounts.models import Role, TeamKind
    from leads.models import Lead
    from sla.bootstrap import agreement_bootstrap, teams_ensure, user_ensure
    from sla.escalations import clocks_sweep
    from sla.models import Clock, ClockState, Commitment

    settings.SLA_KICK_SENDER_ON_COMMIT = False
    call_command("migrate", verbosity=0, interactive=False)
    teams = teams_ensure()
    signers = {
        kind: user_ensure(
            username=f"{kind}-lead", team=teams[kind], role=Role.TEAM_LEAD, first_name="L", last_name=kind
        )
        for kind in (TeamKind.MARKETING, TeamKind.OUTREACH, TeamKind.MEMBER_SUCCESS)
    }
    agreement = agreement_bootstrap(signers=signers)
    lead_type = ContentType.objects.get_for_model(Lead)
    next_id = iter(range(1, 10**9))

    def add_clocks(count: int, *, due: bool) -> None:
        rows = (
            Clock(
                commitment=Commitment.FIRST_RESPONSE,
                agreement=agreement,
                subject_type=lead_type,
                subject_id=next(next_id),
                team=TeamKind.OUTREACH,
                state=ClockState.RUNNING if due else ClockState.MET,
                started_at=NOW - timedelta(days=2),
                warn_at=NOW - timedelta(hours=3),
                due_at=NOW - timedelta(hours=1),
                stopped_at=None if due else NOW - timedelta(days=1),
            )
            for _ in range(count)
        )
        Clock.objects.bulk_create(rows, batch_size=5000)

    def timed(fn, repeat: int = 7) -> float:
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - started)
        return statistics.median(samples)

    def with_due() -> float:
        """Breach `due` fresh clocks; rolled back so every repeat sees the same table."""
        samples = []
        for _ in range(5):
            with transaction.atomic():
                add_clocks(args.due, due=True)
                started = time.perf_counter()
                result = clocks_sweep(now=NOW)
                samples.append(time.perf_counter() - started)
                assert result["breached"] == args.due, result
                transaction.set_rollback(True)
        return statistics.median(samples)

    add_clocks(args.small, due=False)
    small_idle, small_due = timed(lambda: clocks_sweep(now=NOW)), with_due()
    add_clocks(args.large - args.small, due=False)
    large_idle, large_due = timed(lambda: clocks_sweep(now=NOW)), with_due()
    print(f"clocks in table      {args.small:>10,} {args.large:>10,}   ratio")
    print(f"idle sweep (ms)      {small_idle * 1000:>10.2f} {large_idle * 1000:>10.2f}   {large_idle / small_idle:.2f}")
    print(
        f"{args.due} due, sweep (ms)  {small_due * 1000:>10.2f} {large_due * 1000:>10.2f}   {large_due / small_due:.2f}"
    )


if __name__ == "__main__":
    main()
