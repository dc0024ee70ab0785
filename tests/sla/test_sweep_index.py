"""The sweeps read only what can fire: the planner (PostgreSQL's and SQLite's) uses the partial indexes, so a
sweep's cost follows the number of due clocks, not all clocks. benchmarks/sweep_scale.py measures the ratio."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from leads.models import Lead
from sla.models import Clock, ClockState, Commitment

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 9, 12, tzinfo=UTC)


def test_due_and_warning_sweeps_use_their_partial_indexes(agreement):
    # given: 20,000 finished clocks and 200 running ones, 5 of them due
    lead_type = ContentType.objects.get_for_model(Lead)
    rows = [
        Clock(
            commitment=Commitment.FIRST_RESPONSE,
            agreement=agreement,
            subject_type=lead_type,
            subject_id=i,
            team="outreach",
            state=ClockState.MET if i >= 200 else ClockState.RUNNING,
            started_at=NOW - timedelta(days=3),
            warn_at=NOW + timedelta(hours=1 if i >= 5 else -3),
            due_at=NOW + timedelta(hours=2 if i >= 5 else -1),
        )
        for i in range(20_200)
    ]
    Clock.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sla_clock" if settings.IS_POSTGRES else "ANALYZE")
    # when
    due = Clock.objects.filter(state=ClockState.RUNNING, due_at__lte=NOW).order_by("due_at")
    warn = Clock.objects.filter(
        state=ClockState.RUNNING, warned_at__isnull=True, warn_at__lte=NOW, due_at__gt=NOW
    ).order_by("warn_at")
    late = Clock.objects.filter(state=ClockState.BREACHED, breach_escalated_at__isnull=True).order_by("due_at")
    # then
    assert "clock_due_sweep" in due.explain()
    assert "clock_warn_sweep" in warn.explain()
    assert "clock_late_stop_sweep" in late.explain()
    assert due.count() == 5
