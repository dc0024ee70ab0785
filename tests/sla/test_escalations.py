"""The escalation ladder and its outbox: who is told, exactly once, and delivery that survives failures."""

import socket
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from accounts.models import Team, TeamKind
from sla.escalations import (
    DELIVERY_MAX_ATTEMPTS,
    clocks_sweep,
    deliveries_send,
    escalation_acknowledge,
    escalation_resolve,
    notification_mark_read,
    notifications_mark_all_read,
)
from sla.models import Clock, Delivery, Escalation, EscalationKind, Notification
from sla.selectors import unread_count
from sla_portal.errors import Forbidden, InvalidTransition
from tests.factories import make_mql

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 6, 15, tzinfo=UTC)  # Friday 15:00; the MQL hand-off clock is due Saturday 15:00


@pytest.fixture(autouse=True)
def _without_the_adoption_announcement(agreement):
    """Activating v1 mailed every party; these tests count only what escalations send."""
    Delivery.objects.filter(escalation__isnull=True).delete()


@pytest.fixture
def breached_lead(agreement, users):
    with time_machine.travel(T0, tick=False):
        lead = make_mql(owner=users["marketer"])
    clocks_sweep(now=T0 + timedelta(hours=25))
    return lead


def test_breach_fires_once_however_often_the_sweep_runs(agreement, users):
    # given
    with time_machine.travel(T0, tick=False):
        make_mql(owner=users["marketer"])
    # when
    results = [clocks_sweep(now=T0 + timedelta(hours=h)) for h in (19, 19, 25, 25, 26)]
    # then
    assert [r["warned"] for r in results] == [1, 0, 0, 0, 0]
    assert [r["breached"] for r in results] == [0, 0, 1, 0, 0]
    assert Escalation.objects.filter(kind=EscalationKind.CLOCK_WARNING).count() == 1
    assert Escalation.objects.filter(kind=EscalationKind.CLOCK_BREACH).count() == 1
    assert (
        Notification.objects.filter(escalation__isnull=False).count() == 3
    )  # warning → owner; breach → owner + team lead


def test_clock_already_past_due_skips_the_warning_and_breaches(agreement, users):
    with time_machine.travel(T0, tick=False):
        make_mql(owner=users["marketer"])
    assert clocks_sweep(now=T0 + timedelta(days=3)) == {"warned": 0, "breached": 1}


def test_unowned_item_warns_the_team_lead(agreement, users):
    with time_machine.travel(T0, tick=False):
        make_mql(owner=None)
    clocks_sweep(now=T0 + timedelta(hours=19))
    notification = Notification.objects.get(escalation__isnull=False)
    assert notification.recipient == users["marketing_lead"]
    assert "nobody owns" in notification.why


def test_notification_says_why_with_commitment_and_agreement_version(breached_lead, users):
    notification = Notification.objects.get(recipient=users["marketing_lead"], escalation__isnull=False)
    assert "you lead the team that missed the deadline" in notification.why
    assert "Agreement v1" in notification.why
    assert "Marketing hands off an MQL" in notification.why
    assert notification.url == f"/leads/{breached_lead.pk}/"


def test_each_notification_has_an_email_in_the_outbox_and_is_sent_once(breached_lead, users):
    # given: deliveries were written with the escalation
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 2
    # when
    first = deliveries_send(now=T0 + timedelta(hours=25, minutes=1))
    second = deliveries_send(now=T0 + timedelta(hours=25, minutes=2))
    # then
    assert first["sent"] == 2 and second["sent"] == 0
    assert sorted(m.to[0] for m in mail.outbox) == ["marketer@example.org", "marketing_lead@example.org"]
    assert all(m.subject.startswith("[SLA] Missed:") for m in mail.outbox)
    assert "Why you:" in mail.outbox[0].body


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_failures_retry_with_backoff_then_give_up(agreement, users):
    # given: Marketing's chat webhook points at a port nobody listens on
    Team.objects.filter(kind=TeamKind.MARKETING).update(webhook_url=f"http://127.0.0.1:{_closed_port()}/hook")
    with time_machine.travel(T0, tick=False):
        make_mql(owner=users["marketer"])
    now = T0 + timedelta(hours=25)
    clocks_sweep(now=now)
    webhook = Delivery.objects.get(channel=Delivery.Channel.WEBHOOK)
    assert webhook.payload["key"].startswith("clock:")
    # when: each retry happens when it falls due
    waits = []
    for _ in range(DELIVERY_MAX_ATTEMPTS):
        deliveries_send(now=now)
        webhook.refresh_from_db()
        if webhook.status != Delivery.Status.PENDING:
            break
        waits.append(webhook.next_attempt_at - now)
        now = webhook.next_attempt_at
    # then: back-off doubles, every attempt recorded, and the e-mails went out regardless
    assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert webhook.status == Delivery.Status.FAILED
    assert webhook.attempts == DELIVERY_MAX_ATTEMPTS
    assert "ConnectionRefused" in webhook.last_error or "URLError" in webhook.last_error
    assert Delivery.objects.filter(channel=Delivery.Channel.EMAIL, status=Delivery.Status.SENT).count() == 2


def test_a_sender_that_died_mid_send_leaves_a_lease_that_expires(breached_lead):
    # given: a worker leased a delivery (attempts bumped, next_attempt_at pushed 5 min ahead) and died
    delivery = Delivery.objects.first()
    leased_until = T0 + timedelta(hours=25, minutes=5)
    Delivery.objects.filter(pk=delivery.pk).update(attempts=1, next_attempt_at=leased_until)
    # when / then: nobody else sends it during the lease, the next sweep after it does
    assert deliveries_send(now=T0 + timedelta(hours=25, minutes=2))["sent"] == 1  # only the other one
    assert deliveries_send(now=leased_until + timedelta(seconds=1))["sent"] == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 2


def test_broker_outage_does_not_lose_the_escalation(
    agreement, users, monkeypatch, settings, django_capture_on_commit_callbacks
):
    # given: enqueueing the sender fails as it would with Redis down
    from sla import tasks

    settings.SLA_KICK_SENDER_ON_COMMIT = True
    attempts = []

    def broker_down(*args, **kwargs):
        attempts.append(1)
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.deliveries_send_task, "apply_async", broker_down)
    with time_machine.travel(T0, tick=False):
        make_mql(owner=users["marketer"])
    # when
    with django_capture_on_commit_callbacks(execute=True):
        clocks_sweep(now=T0 + timedelta(hours=25))
    # then: the kick was tried and failed; the breach and its outbox rows are committed anyway,
    # and the beat-driven sender delivers them later
    assert attempts == [1]
    assert Escalation.objects.filter(kind=EscalationKind.CLOCK_BREACH).count() == 1
    assert deliveries_send(now=T0 + timedelta(hours=26))["sent"] == 2


def test_meeting_the_commitment_resolves_its_open_escalations(agreement, users):
    from handoffs.services import handoff_create

    with time_machine.travel(T0, tick=False):
        lead = make_mql(owner=users["marketer"])
    clocks_sweep(now=T0 + timedelta(hours=19))
    with time_machine.travel(T0 + timedelta(hours=20), tick=False):
        handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
    warning = Escalation.objects.get(kind=EscalationKind.CLOCK_WARNING)
    assert warning.status == Escalation.Status.RESOLVED
    assert Clock.objects.get(commitment="mql_handoff").state == "met"


def test_acknowledge_and_resolve_permissions(breached_lead, users):
    breach = Escalation.objects.get(kind=EscalationKind.CLOCK_BREACH)
    # a rep from another team may not touch Marketing's escalation
    with pytest.raises(Forbidden):
        escalation_acknowledge(escalation=breach, by=users["rep"])
    breach.refresh_from_db()
    assert breach.status == Escalation.Status.OPEN
    # the owner acknowledges; the department head resolves; resolving twice is refused
    escalation_acknowledge(escalation=breach, by=users["marketer"])
    escalation_resolve(escalation=breach, by=users["outreach_head"], note="Handed off, process fixed")
    breach.refresh_from_db()
    assert breach.status == Escalation.Status.RESOLVED
    assert "process fixed" in breach.detail
    with pytest.raises(InvalidTransition):
        escalation_resolve(escalation=breach, by=users["marketing_lead"])


def test_inbox_unread_count_and_mark_read(breached_lead, users):
    lead_user = users["marketing_lead"]
    notifications_mark_all_read(user=lead_user)  # the "v1 adopted" announcement
    notifications_mark_all_read(user=users["marketer"])
    clocks_sweep(now=T0 + timedelta(hours=25))  # nothing new: fired once already
    with time_machine.travel(T0, tick=False):
        make_mql(owner=users["marketer"])
    clocks_sweep(now=T0 + timedelta(hours=26))
    assert unread_count(lead_user) == 1
    notification = Notification.objects.get(recipient=lead_user, read_at__isnull=True)
    with pytest.raises(Forbidden):
        notification_mark_read(notification=notification, by=users["marketer"])
    notification_mark_read(notification=notification, by=lead_user)
    assert unread_count(lead_user) == 0
    assert notifications_mark_all_read(user=users["marketer"]) == 1  # the new breach (swept after due: no warning)
