"""Each commitment walked from its trigger to met, and to breached, with a frozen clock.

Hand-worked deadlines (office hours Mon–Fri 09:00–17:00 Europe/London with GB holidays; London is on
GMT = UTC in November and December, so local times equal UTC times below)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from handoffs.models import Handoff
from handoffs.services import attempt_log, handoff_accept, handoff_create
from leads.models import Lead
from leads.services import lead_disqualify, lead_recycle
from onboarding.models import Membership
from onboarding.services import (
    engagement_record,
    lead_convert,
    membership_churn,
    membership_mark_renewal_eligible,
    membership_renew,
    onboarding_start,
    onboarding_task_complete,
)
from sla.clocks import clock_pause, clock_resume, clocks_for
from sla.escalations import clocks_sweep
from sla.models import ClockState, Commitment, Escalation, EscalationKind
from sla_portal.errors import DomainError
from tests.factories import make_mql

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def clock_of(subject, commitment):
    return clocks_for(subject).filter(commitment=commitment).order_by("-pk").first()


def sql_lead(users, *, at):
    with time_machine.travel(at, tick=False):
        lead = make_mql(owner=users["marketer"])
        handoff = handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
        handoff_accept(handoff=handoff, by=users["rep"])
    return Lead.objects.get(pk=lead.pk)


def member(users, *, at):
    lead = sql_lead(users, at=at)
    with time_machine.travel(at, tick=False):
        return lead_convert(
            lead=lead,
            by=users["rep"],
            membership_type="corporate",
            contract_value="1500",
            term_start=at.date(),
            term_end=date(at.year + 1, at.month, 1),
            owner=users["success"],
        )


def test_mql_handoff_clock_24h_on_the_always_open_calendar(agreement, users):
    # given: a lead qualifies on Friday 6 Nov 2026 15:00
    with time_machine.travel(utc(2026, 11, 6, 15), tick=False):
        lead = make_mql(owner=users["marketer"])
    clock = clock_of(lead, Commitment.MQL_HANDOFF)
    # then: 24 h later on the 24/7 calendar, warning at 75 % (18 h)
    assert clock.state == ClockState.RUNNING
    assert clock.due_at == utc(2026, 11, 7, 15)
    assert clock.warn_at == utc(2026, 11, 7, 9)
    assert clock.agreement == agreement
    # when: handed off on Saturday 10:00, inside the deadline
    with time_machine.travel(utc(2026, 11, 7, 10), tick=False):
        handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
    clock.refresh_from_db()
    assert clock.state == ClockState.MET
    assert clock.stopped_at == utc(2026, 11, 7, 10)


def test_mql_handoff_clock_breaches_and_escalates_to_owner_and_team_lead(agreement, users):
    # given
    with time_machine.travel(utc(2026, 11, 6, 15), tick=False):
        lead = make_mql(owner=users["marketer"])
    # when: the sweep runs after the warning time and again after the deadline
    warned = clocks_sweep(now=utc(2026, 11, 7, 9, 30))
    breached = clocks_sweep(now=utc(2026, 11, 7, 15, 1))
    # then
    assert warned == {"warned": 1, "breached": 0}
    assert breached == {"warned": 0, "breached": 1}
    clock = clock_of(lead, Commitment.MQL_HANDOFF)
    assert clock.state == ClockState.BREACHED
    assert clock.breached_at == utc(2026, 11, 7, 15)
    warning = Escalation.objects.get(clock=clock, kind=EscalationKind.CLOCK_WARNING)
    breach = Escalation.objects.get(clock=clock, kind=EscalationKind.CLOCK_BREACH)
    assert {n.recipient.username for n in warning.notifications.all()} == {"marketer"}
    assert {n.recipient.username for n in breach.notifications.all()} == {"marketer", "marketing_lead"}


def test_first_response_counts_working_hours_over_the_weekend(agreement, users):
    # given: a hand-off on Friday 6 Nov 15:00 — 2 working hours left that day
    with time_machine.travel(utc(2026, 11, 6, 15), tick=False):
        lead = make_mql(owner=users["marketer"])
        handoff = handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
    clock = clock_of(lead, Commitment.FIRST_RESPONSE)
    # then: 4 working hours = Fri 15–17 + Mon 09–11; warning at 3 h = Mon 10:00
    assert clock.due_at == utc(2026, 11, 9, 11)
    assert clock.warn_at == utc(2026, 11, 9, 10)
    assert clock.owner == users["rep"]
    # when: accepted Monday 09:30
    with time_machine.travel(utc(2026, 11, 9, 9, 30), tick=False):
        handoff_accept(handoff=handoff, by=users["rep"])
    clock.refresh_from_db()
    assert clock.state == ClockState.MET


def test_first_response_answered_late_is_a_breach_even_before_the_sweep(agreement, users):
    # given
    with time_machine.travel(utc(2026, 11, 6, 15), tick=False):
        lead = make_mql(owner=users["marketer"])
        handoff = handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
    # when: accepted Monday 11:30, after the 11:00 deadline, with no sweep in between
    with time_machine.travel(utc(2026, 11, 9, 11, 30), tick=False):
        handoff_accept(handoff=handoff, by=users["rep"])
    clock = clock_of(lead, Commitment.FIRST_RESPONSE)
    assert clock.state == ClockState.BREACHED
    # then: the next sweep records the breach once, already resolved because the work was done
    assert clocks_sweep(now=utc(2026, 11, 9, 11, 31))["breached"] == 1
    assert clocks_sweep(now=utc(2026, 11, 9, 11, 32))["breached"] == 0
    breach = Escalation.objects.get(clock=clock)
    assert breach.status == Escalation.Status.RESOLVED
    assert "done late" in breach.detail


def test_follow_up_needs_three_attempts_within_ten_business_days(agreement, users):
    # given: accepted Monday 9 Nov 10:00 → due at close of the 10th business day, Mon 23 Nov 17:00
    lead = sql_lead(users, at=utc(2026, 11, 9, 10))
    clock = clock_of(lead, Commitment.FOLLOW_UP)
    assert clock.due_at == utc(2026, 11, 23, 17)
    assert clock.required_count == 3
    # when: two attempts are not enough
    for day in (10, 12):
        with time_machine.travel(utc(2026, 11, day, 11), tick=False):
            attempt_log(lead=lead, by=users["rep"], channel="phone", outcome="no_answer")
    clock.refresh_from_db()
    assert (clock.state, clock.progress_count) == (ClockState.RUNNING, 2)
    # then: the third meets it
    with time_machine.travel(utc(2026, 11, 16, 11), tick=False):
        attempt_log(lead=lead, by=users["rep"], channel="email", outcome="sent")
    clock.refresh_from_db()
    assert clock.state == ClockState.MET


def test_follow_up_breaches_when_attempts_fall_short(agreement, users):
    lead = sql_lead(users, at=utc(2026, 11, 9, 10))
    with time_machine.travel(utc(2026, 11, 10, 11), tick=False):
        attempt_log(lead=lead, by=users["rep"], channel="phone", outcome="no_answer")
    clocks_sweep(now=utc(2026, 11, 23, 17, 1))
    assert clock_of(lead, Commitment.FOLLOW_UP).state == ClockState.BREACHED


def test_decision_clock_met_by_recycle_and_other_clocks_cancelled(agreement, users):
    # given
    lead = sql_lead(users, at=utc(2026, 11, 9, 10))
    # when
    with time_machine.travel(utc(2026, 11, 11, 10), tick=False):
        lead_recycle(lead=lead, by=users["rep"], reason="not_ready")
    # then
    assert clock_of(lead, Commitment.DECISION).state == ClockState.MET
    assert clock_of(lead, Commitment.FOLLOW_UP).state == ClockState.CANCELLED


def test_decision_clock_met_by_disqualify(agreement, users):
    lead = sql_lead(users, at=utc(2026, 11, 9, 10))
    with time_machine.travel(utc(2026, 11, 11, 10), tick=False):
        lead_disqualify(lead=lead, by=users["rep"], reason="no_budget")
    assert clock_of(lead, Commitment.DECISION).state == ClockState.MET


def test_decision_breaches_after_thirty_business_days(agreement, users):
    lead = sql_lead(users, at=utc(2026, 11, 9, 10))
    clock = clock_of(lead, Commitment.DECISION)
    clocks_sweep(now=clock.due_at + timedelta(minutes=1))
    clock.refresh_from_db()
    assert clock.state == ClockState.BREACHED


def test_onboarding_start_skips_christmas_holidays(agreement, users):
    # given: signed Wednesday 23 Dec 2026 10:00. Business days after it: Thu 24, (Fri 25 and Mon 28 are
    # holidays), Tue 29, Wed 30, Thu 31, (Fri 1 Jan holiday), Mon 4 Jan → due Mon 4 Jan 2027 17:00
    membership = member(users, at=utc(2026, 12, 23, 10))
    clock = clock_of(membership, Commitment.ONBOARDING_START)
    assert clock.due_at == utc(2027, 1, 4, 17)
    assert clock.owner == users["success"]
    # when
    with time_machine.travel(utc(2026, 12, 29, 9), tick=False):
        onboarding_start(membership=membership, by=users["success"])
    # then
    clock.refresh_from_db()
    assert clock.state == ClockState.MET


def test_onboarding_start_breaches_and_member_success_lead_is_told(agreement, users):
    membership = member(users, at=utc(2026, 12, 23, 10))
    clocks_sweep(now=utc(2027, 1, 4, 17, 0, 1))
    clock = clock_of(membership, Commitment.ONBOARDING_START)
    assert clock.state == ClockState.BREACHED
    breach = Escalation.objects.get(clock=clock, kind=EscalationKind.CLOCK_BREACH)
    assert {n.recipient.username for n in breach.notifications.all()} == {"success", "success_lead"}
    assert breach.url == f"/members/{membership.pk}/"


def test_welcome_step_meets_the_welcome_clock_and_onboards(agreement, users):
    membership = member(users, at=utc(2026, 11, 9, 10))
    clock = clock_of(membership, Commitment.WELCOME)
    assert clock.due_at == utc(2026, 11, 23, 17)  # 10 business days
    with time_machine.travel(utc(2026, 11, 12, 10), tick=False):
        onboarding_task_complete(membership=membership, step="welcome", by=users["success"])
    clock.refresh_from_db()
    membership.refresh_from_db()
    assert clock.state == ClockState.MET
    assert membership.state == "onboarded"
    # the first checklist step also started onboarding, meeting that clock
    assert clock_of(membership, Commitment.ONBOARDING_START).state == ClockState.MET


def test_crm_update_logged_two_days_after_the_call_is_late(agreement, users):
    # given: an SQL
    lead = sql_lead(users, at=utc(2026, 11, 9, 10))
    # when: a call made Monday 11:00 is logged Wednesday 12:00 (49 h later; the limit is 24 h)
    with time_machine.travel(utc(2026, 11, 11, 12), tick=False):
        attempt_log(lead=lead, by=users["rep"], channel="phone", outcome="connected", at=utc(2026, 11, 9, 11))
    # then
    clock = clock_of(lead, Commitment.CRM_UPDATE)
    assert clock.state == ClockState.BREACHED
    assert clock.due_at == utc(2026, 11, 10, 11)
    # and a call logged the same hour is on time
    with time_machine.travel(utc(2026, 11, 11, 13), tick=False):
        attempt_log(lead=lead, by=users["rep"], channel="phone", outcome="connected", at=utc(2026, 11, 11, 12, 30))
    assert clock_of(lead, Commitment.CRM_UPDATE).state == ClockState.MET


def _renewal_eligible(users):
    membership = member(users, at=utc(2026, 1, 5, 10))
    with time_machine.travel(utc(2026, 1, 6, 10), tick=False):
        onboarding_task_complete(membership=membership, step="welcome", by=users["success"])
        for _ in range(3):
            engagement_record(membership=membership, kind="event", by=users["success"])
    with time_machine.travel(utc(2026, 11, 9, 10), tick=False):  # term ends 1 Jan 2027: 53 days ≤ 60
        return membership_mark_renewal_eligible(membership=Membership.objects.get(pk=membership.pk))


def test_renewal_outreach_clock_starts_when_eligible_and_is_met_by_renewal(agreement, users):
    membership = _renewal_eligible(users)
    clock = clock_of(membership, Commitment.RENEWAL_OUTREACH)
    assert clock.started_at == utc(2026, 11, 9, 10)
    assert clock.due_at == utc(2026, 11, 23, 17)
    with time_machine.travel(utc(2026, 11, 20, 10), tick=False):
        membership_renew(membership=membership, by=users["success"], new_term_end=date(2028, 1, 1))
    clock.refresh_from_db()
    assert clock.state == ClockState.MET


def test_renewal_outreach_breaches_and_churn_cancels_nothing_already_judged(agreement, users):
    membership = _renewal_eligible(users)
    clocks_sweep(now=utc(2026, 11, 23, 17, 1))
    clock = clock_of(membership, Commitment.RENEWAL_OUTREACH)
    assert clock.state == ClockState.BREACHED
    with time_machine.travel(utc(2026, 11, 24, 10), tick=False):
        membership_churn(membership=membership, by=users["success"], reason="price")
    clock.refresh_from_db()
    assert clock.state == ClockState.BREACHED  # the verdict stays on record


def test_pausable_clock_carries_its_remaining_business_time(agreement, users):
    # given: follow-up (pausable) accepted Monday 9 Nov 10:00, due Mon 23 Nov 17:00
    lead = sql_lead(users, at=utc(2026, 11, 9, 10))
    # when: paused Tuesday 10 Nov 17:00 and resumed Monday 16 Nov 09:00 (four business days paused)
    clock_pause(subject=lead, commitment=Commitment.FOLLOW_UP, at=utc(2026, 11, 10, 17), note="prospect on leave")
    assert clock_of(lead, Commitment.FOLLOW_UP).state == ClockState.PAUSED
    assert clocks_sweep(now=utc(2026, 11, 30, 9))["breached"] == 0  # a paused clock never breaches
    clock_resume(subject=lead, commitment=Commitment.FOLLOW_UP, at=utc(2026, 11, 16, 9))
    # then: 9 business days were left at the pause (Wed 11 … Mon 23) → due 9 business days after Mon 16 09:00
    clock = clock_of(lead, Commitment.FOLLOW_UP)
    assert clock.state == ClockState.RUNNING
    assert clock.due_at == utc(2026, 11, 26, 17)


def test_a_commitment_the_agreement_does_not_let_pause_refuses(agreement, users):
    with time_machine.travel(utc(2026, 11, 6, 15), tick=False):
        lead = make_mql(owner=users["marketer"])
        handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
    with pytest.raises(DomainError, match="does not allow pausing"):
        clock_pause(subject=lead, commitment=Commitment.FIRST_RESPONSE, at=utc(2026, 11, 6, 16))
    assert clock_of(lead, Commitment.FIRST_RESPONSE).state == ClockState.RUNNING


def test_a_second_handoff_restarts_the_first_response_clock(agreement, users):
    from handoffs.services import handoff_reject

    with time_machine.travel(utc(2026, 11, 9, 10), tick=False):
        lead = make_mql(owner=users["marketer"])
        handoff = handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
        handoff_reject(handoff=handoff, by=users["rep"], reason="data_incomplete")
    with time_machine.travel(utc(2026, 11, 10, 10), tick=False):
        handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
    clocks = clocks_for(lead).filter(commitment=Commitment.FIRST_RESPONSE).order_by("pk")
    assert [c.state for c in clocks] == [ClockState.MET, ClockState.RUNNING]
    assert clocks[1].due_at == utc(2026, 11, 10, 14)
    assert Handoff.objects.filter(lead=lead).count() == 2
