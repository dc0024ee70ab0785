"""The escalation ladder beyond single clocks: KPI misses over consecutive periods → department head and a
corrective plan (itself tracked and escalated when late), data integrity pauses, and the quarterly review."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from accounts.models import Team, TeamKind
from handoffs.integrity import handoff_integrity_check
from handoffs.services import handoff_create
from metrics import evaluation
from metrics.kpis import KpiValue
from sla.clocks import clocks_for
from sla.escalations import clocks_sweep, plan_accept, plan_submit, reviews_sweep
from sla.models import ClockState, Commitment, Escalation, EscalationKind, KpiMetric, KpiResult, Plan, Review
from sla_portal.errors import DomainError, Forbidden, InvalidInput, InvalidTransition
from tests.factories import make_mql

pytestmark = pytest.mark.django_db


@pytest.fixture
def kpi_values(monkeypatch):
    """Control what each KPI measures per period: {(metric, period start): value}; default: on target."""
    values: dict = {}

    def fake(metric, *, start, end, agreement=None):
        value = values.get((metric, start.date()))
        if value is None:
            value = {"gte": Decimal(100), "lte": Decimal(0)}[
                "lte" if metric == KpiMetric.FIRST_RESPONSE_HOURS else "gte"
            ]
            if metric == KpiMetric.MQL_VOLUME:
                value = Decimal(100)
        return KpiValue(value=value, numerator=value, denominator=Decimal(1))

    monkeypatch.setattr(evaluation, "kpi_compute", fake)
    return values


def evaluate_on(day: date):
    with time_machine.travel(datetime(day.year, day.month, day.day, 5, tzinfo=UTC), tick=False):
        return evaluation.kpi_evaluate()


@pytest.fixture
def agreement_since_summer(agreement):
    type(agreement).objects.filter(pk=agreement.pk).update(effective_date=date(2026, 6, 1))
    return agreement


def test_one_miss_is_recorded_two_in_a_row_escalate_to_the_department_head(agreement_since_summer, users, kpi_values):
    # given: Marketing's acceptance rate (target ≥ 70 %) is 55 % in September and 60 % in October
    kpi_values[(KpiMetric.MQL_ACCEPTANCE_RATE, date(2026, 9, 1))] = Decimal(55)
    kpi_values[(KpiMetric.MQL_ACCEPTANCE_RATE, date(2026, 10, 1))] = Decimal(60)
    # when: evaluated on 1 October (September) and on 1 November (October)
    evaluate_on(date(2026, 10, 1))
    assert not Escalation.objects.filter(kind=EscalationKind.KPI_MISS).exists()
    evaluate_on(date(2026, 11, 1))
    # then
    october = KpiResult.objects.get(metric=KpiMetric.MQL_ACCEPTANCE_RATE, period_start=date(2026, 10, 1))
    assert (october.met, october.consecutive_misses, october.value) == (False, 2, Decimal(60))
    escalation = Escalation.objects.get(kind=EscalationKind.KPI_MISS)
    assert escalation.owner == users["marketing_head"]
    assert "2 periods running" in escalation.title
    recipients = {n.recipient.username for n in escalation.notifications.all()}
    assert recipients == {"marketing_head", "marketing_lead"}
    # and a corrective plan is due in 5 business days: Sun 1 Nov 05:00 → Fri 6 Nov 17:00 London (= UTC)
    plan = escalation.plan
    assert (plan.kind, plan.status, plan.owner) == (Plan.Kind.CORRECTIVE, Plan.Status.OPEN, users["marketing_lead"])
    assert plan.due_at == datetime(2026, 11, 6, 17, tzinfo=UTC)
    assert clocks_for(plan).get().commitment == Commitment.CORRECTIVE_PLAN


def test_evaluation_is_idempotent_and_catches_up(agreement_since_summer, kpi_values):
    first = evaluate_on(date(2026, 11, 2))
    again = evaluate_on(date(2026, 11, 3))
    assert again == []
    # monthly targets: Aug, Sep, Oct; the quarterly renewal rate: Q2 (ends 1 Jul > effective 1 Jun) and Q3
    months = {r.period_start for r in first if r.frequency == "monthly"}
    quarters = {r.period_start for r in first if r.frequency == "quarterly"}
    assert months == {date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)}
    assert quarters == {date(2026, 4, 1), date(2026, 7, 1)}


def test_a_met_period_breaks_the_streak(agreement_since_summer, kpi_values):
    kpi_values[(KpiMetric.MQL_VOLUME, date(2026, 8, 1))] = Decimal(10)
    kpi_values[(KpiMetric.MQL_VOLUME, date(2026, 10, 1))] = Decimal(12)
    evaluate_on(date(2026, 11, 1))
    results = KpiResult.objects.filter(metric=KpiMetric.MQL_VOLUME).order_by("period_start")
    assert [r.consecutive_misses for r in results] == [1, 0, 1]
    assert not Escalation.objects.filter(kind=EscalationKind.KPI_MISS).exists()


def test_periods_before_the_agreement_are_not_judged(agreement, kpi_values):
    # given: the agreement took effect on 1 December 2026
    type(agreement).objects.filter(pk=agreement.pk).update(effective_date=date(2026, 12, 1))
    kpi_values[(KpiMetric.MQL_VOLUME, date(2026, 11, 1))] = Decimal(0)
    # when: evaluated on 1 December, November ended on (not after) the effective date: nothing is judged
    assert evaluate_on(date(2026, 12, 1)) == []
    # then on 1 January December is judged, and so is Q4, the quarter the agreement ended in
    results = evaluate_on(date(2027, 1, 1))
    assert {(r.frequency, r.period_start) for r in results} == {
        ("monthly", date(2026, 12, 1)),
        ("quarterly", date(2026, 10, 1)),
    }


def _open_corrective_plan(users, kpi_values):
    kpi_values[(KpiMetric.SQL_TO_MEMBER_RATE, date(2026, 9, 1))] = Decimal(10)
    kpi_values[(KpiMetric.SQL_TO_MEMBER_RATE, date(2026, 10, 1))] = Decimal(12)
    evaluate_on(date(2026, 11, 1))
    return Plan.objects.get()


def test_late_corrective_plan_is_escalated_again(agreement_since_summer, users, kpi_values):
    plan = _open_corrective_plan(users, kpi_values)
    # when: nobody files it by Friday 6 Nov 17:00
    clocks_sweep(now=datetime(2026, 11, 6, 17, 1, tzinfo=UTC))
    # then
    overdue = Escalation.objects.get(kind=EscalationKind.PLAN_OVERDUE)
    assert overdue.team == TeamKind.OUTREACH
    assert {n.recipient.username for n in overdue.notifications.all()} >= {"outreach_head", "outreach_lead"}
    assert overdue.url == f"/escalations/plans/{plan.pk}/"


def test_filing_and_accepting_the_corrective_plan(agreement_since_summer, users, kpi_values):
    plan = _open_corrective_plan(users, kpi_values)
    with time_machine.travel(datetime(2026, 11, 4, 10, tzinfo=UTC), tick=False):
        with pytest.raises(InvalidInput) as excinfo:
            plan_submit(plan=plan, by=users["outreach_lead"], root_cause="", actions="")
        assert set(excinfo.value.errors) == {"root_cause", "actions"}
        with pytest.raises(Forbidden):
            plan_submit(plan=plan, by=users["marketer"], root_cause="x", actions="y")
        plan_submit(plan=plan, by=users["outreach_lead"], root_cause="Scripts unclear", actions="Retrain reps")
        with pytest.raises(Forbidden):
            plan_accept(plan=plan, by=users["outreach_lead"])
        plan_accept(plan=plan, by=users["outreach_head"])
    plan.refresh_from_db()
    assert plan.status == Plan.Status.ACCEPTED
    assert clocks_for(plan).get().state == ClockState.MET
    assert plan.escalation.status == Escalation.Status.RESOLVED
    with pytest.raises(InvalidTransition):
        plan_accept(plan=plan, by=users["outreach_head"])


def _handoffs(users, *, complete: int, incomplete: int, at: datetime):
    with time_machine.travel(at, tick=False):
        for i in range(complete + incomplete):
            lead = make_mql(owner=users["marketer"], phone="" if i < incomplete else "+44 1")
            handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])


def test_incomplete_handoffs_over_the_threshold_pause_marketing_until_remediation(agreement, users):
    # given: in October 2 of 10 hand-offs (20 % > 10 %) missed the phone number
    _handoffs(users, complete=8, incomplete=2, at=datetime(2026, 10, 14, 10, tzinfo=UTC))
    # when: the daily check runs on 2 November
    with time_machine.travel(datetime(2026, 11, 2, 6, 30, tzinfo=UTC), tick=False):
        plans = handoff_integrity_check()
        assert handoff_integrity_check() == []  # once per period
    # then: hand-offs are paused, with a remediation plan due in 10 business days (Mon 16 Nov 17:00)
    marketing = Team.objects.get(kind=TeamKind.MARKETING)
    assert marketing.handoffs_paused
    (plan,) = plans
    assert plan.kind == Plan.Kind.REMEDIATION
    assert plan.due_at == datetime(2026, 11, 16, 17, tzinfo=UTC)
    escalation = Escalation.objects.get(kind=EscalationKind.DATA_INTEGRITY)
    assert "20.00% of hand-offs incomplete in October 2026" in escalation.title
    lead = make_mql(owner=users["marketer"])
    with pytest.raises(DomainError, match="paused"):
        handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])
    # when: the plan is filed and accepted, hand-offs resume
    plan_submit(plan=plan, by=users["marketing_lead"], root_cause="Form lost the phone field", actions="Fix form")
    plan_accept(plan=plan, by=users["marketing_head"])
    assert not Team.objects.get(kind=TeamKind.MARKETING).handoffs_paused
    handoff_create(lead=lead, by=users["marketer"], to_user=users["rep"])


def test_at_the_threshold_nothing_pauses(agreement, users):
    _handoffs(users, complete=9, incomplete=1, at=datetime(2026, 10, 14, 10, tzinfo=UTC))  # exactly 10 %
    with time_machine.travel(datetime(2026, 11, 2, 6, 30, tzinfo=UTC), tick=False):
        assert handoff_integrity_check() == []
    assert not Team.objects.get(kind=TeamKind.MARKETING).handoffs_paused


def test_month_to_date_waits_for_enough_handoffs(agreement, users):
    _handoffs(users, complete=1, incomplete=2, at=datetime(2026, 11, 3, 10, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 11, 4, 6, 30, tzinfo=UTC), tick=False):
        assert handoff_integrity_check() == []


def _quarterly(counts):
    return {k: counts[k] for k in ("reminded", "opened")}


def test_quarterly_review_reminder_then_review_task(agreement, users):
    review_date = agreement.review_date
    reminder_day = datetime.combine(review_date - timedelta(days=7), datetime.min.time(), tzinfo=UTC)
    assert _quarterly(reviews_sweep(now=reminder_day - timedelta(days=1))) == {"reminded": 0, "opened": 0}
    assert _quarterly(reviews_sweep(now=reminder_day)) == {"reminded": 1, "opened": 0}
    assert _quarterly(reviews_sweep(now=reminder_day + timedelta(days=1))) == {"reminded": 0, "opened": 0}
    due = datetime.combine(review_date, datetime.min.time(), tzinfo=UTC) + timedelta(hours=7)
    assert _quarterly(reviews_sweep(now=due)) == {"reminded": 0, "opened": 1}
    assert _quarterly(reviews_sweep(now=due + timedelta(days=1))) == {"reminded": 0, "opened": 0}
    review = Review.objects.get(kind=Review.Kind.QUARTERLY)
    assert review.due_on == review_date
    due_escalation = Escalation.objects.get(kind=EscalationKind.REVIEW_DUE, url=f"/dashboard/reviews/{review.pk}/")
    assert {n.recipient.username for n in due_escalation.notifications.all()} == {
        "marketing_lead",
        "outreach_lead",
        "success_lead",
    }


def test_each_month_opens_the_alignment_review_of_the_month_before(agreement, users):
    from sla.escalations import review_complete

    # given: the agreement took effect on 3 December 2026
    type(agreement).objects.filter(pk=agreement.pk).update(effective_date=date(2026, 12, 3))
    # when: the daily job runs through December, then on 1 and 2 January
    assert reviews_sweep(now=datetime(2026, 12, 20, 7, tzinfo=UTC))["monthly"] == 0  # December has not ended
    assert reviews_sweep(now=datetime(2027, 1, 1, 7, tzinfo=UTC))["monthly"] == 1
    assert reviews_sweep(now=datetime(2027, 1, 2, 7, tzinfo=UTC))["monthly"] == 0
    # then: one review of December, due in two weeks, announced to the three leads
    review = Review.objects.get(kind=Review.Kind.MONTHLY)
    assert (review.period_start, review.period_end, review.due_on) == (
        date(2026, 12, 1),
        date(2027, 1, 1),
        date(2027, 1, 15),
    )
    announcement = Escalation.objects.get(key="review:monthly:2026-12")
    assert announcement.notifications.count() == 3
    # completing it closes its own announcement and nothing else
    review_complete(review=review, by=users["outreach_lead"], root_causes="Slow responses on Fridays")
    announcement.refresh_from_db()
    assert announcement.status == Escalation.Status.RESOLVED
