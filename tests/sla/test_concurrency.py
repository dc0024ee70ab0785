"""Two sweeps at once on PostgreSQL: exactly one escalation and one notification per recipient per breach."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection

from sla.escalations import clocks_sweep, deliveries_send
from sla.models import Clock, ClockState, Delivery, Escalation, EscalationKind, Notification
from tests.factories import make_mql

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not settings.IS_POSTGRES, reason="row locks and concurrent sweeps need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]

T0 = datetime(2026, 11, 6, 15, tzinfo=UTC)
N_LEADS = 450  # more than two sweep batches, so the workers interleave


def run_concurrently(fn, workers=2):
    barrier = threading.Barrier(workers)
    results, errors = [], []

    def target():
        try:
            barrier.wait()
            results.append(fn())
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def test_two_concurrent_sweeps_escalate_each_breach_once(agreement, users):
    # given: 450 MQLs whose 24 h hand-off clocks are past due
    with time_machine.travel(T0, tick=False):
        for i in range(N_LEADS):
            make_mql(owner=users["marketer"], email=f"race{i}@example.com")
    assert Clock.objects.filter(state=ClockState.RUNNING).count() == N_LEADS
    # when: two workers sweep at the same moment
    results = run_concurrently(lambda: clocks_sweep(now=T0 + timedelta(hours=25)))
    # then: the work was split, never doubled
    assert sum(r["breached"] for r in results) == N_LEADS
    assert Escalation.objects.filter(kind=EscalationKind.CLOCK_BREACH).count() == N_LEADS
    told = Notification.objects.filter(escalation__isnull=False)
    assert told.filter(recipient=users["marketer"]).count() == N_LEADS
    assert told.filter(recipient=users["marketing_lead"]).count() == N_LEADS
    assert Clock.objects.filter(state=ClockState.BREACHED).count() == N_LEADS


def test_two_concurrent_senders_send_each_delivery_once(agreement, users, mailoutbox):
    with time_machine.travel(T0, tick=False):
        for i in range(60):
            make_mql(owner=users["marketer"], email=f"mail{i}@example.com")
    Delivery.objects.filter(escalation__isnull=True).delete()  # the "v1 adopted" announcement
    clocks_sweep(now=T0 + timedelta(hours=25))
    total = Delivery.objects.count()
    results = run_concurrently(deliveries_send)
    assert sum(r["sent"] for r in results) == total == 120
    assert len(mailoutbox) == total
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == total
