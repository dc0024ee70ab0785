"""Monthly and quarterly KPI evaluation against the agreement's KPI table, and the escalation of a team
that misses a target for the agreed number of consecutive periods (department head + corrective plan)."""

from datetime import date, datetime, time

from celery import shared_task
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role
from sla.escalations import escalation_raise, plan_open, team_people
from sla.models import Agreement, EscalationKind, KpiResult, KpiTarget, Plan, ReviewFrequency
from sla.services import agreement_active

from .kpis import kpi_compute

CATCH_UP_PERIODS = 3  # if the job was down, evaluate up to this many missed periods, oldest first


def period_start(frequency: str, day: date) -> date:
    months = 3 if frequency == ReviewFrequency.QUARTERLY else 1
    return date(day.year, ((day.month - 1) // months) * months + 1, 1)


def shift_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_length(frequency: str) -> int:
    return 3 if frequency == ReviewFrequency.QUARTERLY else 1


def finished_periods(frequency: str, *, today: date, count: int) -> list[tuple[date, date]]:
    """The last `count` periods that ended on or before `today`, oldest first."""
    step = period_length(frequency)
    end = period_start(frequency, today)
    periods = []
    for _ in range(count):
        start = shift_months(end, -step)
        periods.append((start, end))
        end = start
    return periods[::-1]


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def kpi_result_record(
    *, target: KpiTarget, start: date, end: date, agreement: Agreement, now: datetime
) -> KpiResult | None:
    """Evaluate one target for one period; None if it was already evaluated (the job is safe to rerun)."""
    if KpiResult.objects.filter(
        team=target.team, metric=target.metric, frequency=target.frequency, period_start=start
    ).exists():
        return None
    computed = kpi_compute(target.metric, start=_aware(start), end=_aware(end), agreement=agreement)
    met = target.is_met(computed.value)
    previous = KpiResult.objects.filter(
        team=target.team, metric=target.metric, frequency=target.frequency, period_end=start
    ).first()
    # A period with nothing to measure neither extends nor breaks a streak of misses.
    if met is False:
        consecutive = (previous.consecutive_misses if previous else 0) + 1
    elif met is None:
        consecutive = previous.consecutive_misses if previous else 0
    else:
        consecutive = 0
    try:
        with transaction.atomic():
            result = KpiResult.objects.create(
                target=target,
                team=target.team,
                metric=target.metric,
                frequency=target.frequency,
                period_start=start,
                period_end=end,
                value=computed.value,
                numerator=computed.numerator,
                denominator=computed.denominator,
                met=met,
                consecutive_misses=consecutive,
                evaluated_at=now,
            )
    except IntegrityError:
        return None  # a concurrent run recorded it
    if met is False and consecutive >= agreement.consecutive_misses_to_escalate:
        _escalate_repeated_miss(result=result, target=target, agreement=agreement, now=now)
    return result


def _escalate_repeated_miss(*, result: KpiResult, target: KpiTarget, agreement: Agreement, now: datetime) -> None:
    already_planned = Plan.objects.filter(
        kind=Plan.Kind.CORRECTIVE,
        team=target.team,
        escalation__kpi_result__metric=target.metric,
        status__in=[Plan.Status.OPEN, Plan.Status.SUBMITTED],
    ).exists()
    if already_planned:
        return
    head = next(iter(team_people(target.team.kind, Role.DEPARTMENT_HEAD)), None)
    title = (
        f"{target.team} missed '{target.get_metric_display()}' {result.consecutive_misses} periods running "
        f"({result.value} vs target {target.get_comparator_display()} {target.target})"
    )
    escalation = escalation_raise(
        key=f"kpi:{target.team.kind}:{target.metric}:{target.frequency}:{result.period_start:%Y-%m}",
        kind=EscalationKind.KPI_MISS,
        agreement=agreement,
        team=target.team.kind,
        owner=head,
        kpi_result=result,
        title=title,
        at=now,
        url="/escalations/",
        detail=f"Escalated to the department head after {result.consecutive_misses} consecutive missed periods. "
        f"A corrective-action plan is due within {agreement.corrective_plan_business_days} business days.",
    )
    if escalation is not None:
        plan_open(
            kind=Plan.Kind.CORRECTIVE,
            team=target.team,
            agreement=agreement,
            escalation=escalation,
            title=f"Corrective plan: {target.team} – {target.get_metric_display()}",
            at=now,
            business_days=agreement.corrective_plan_business_days,
        )


@transaction.atomic
def kpi_evaluate(*, now: datetime | None = None, catch_up: int = CATCH_UP_PERIODS) -> list[KpiResult]:
    """Evaluate every finished period not yet evaluated, for every row of the active KPI table."""
    now = now or timezone.now()
    agreement = agreement_active()
    today = timezone.localdate(now)
    # Periods that ended before any version of the agreement was in force are not judged by it.
    first_effective = (
        Agreement.objects.exclude(status=Agreement.Status.DRAFT)
        .order_by("effective_date")
        .values_list("effective_date", flat=True)
        .first()
    ) or today
    results = []
    for target in agreement.kpi_targets.select_related("team").order_by("pk"):
        for start, end in finished_periods(target.frequency, today=today, count=catch_up):
            if end <= first_effective:
                continue
            result = kpi_result_record(target=target, start=start, end=end, agreement=agreement, now=now)
            if result is not None:
                results.append(result)
    return results


@shared_task(name="metrics.kpi_evaluate", acks_late=True, ignore_result=True)
def kpi_evaluate_task() -> int:
    return len(kpi_evaluate(now=timezone.now()))
