"""The agreement's KPI table, computed: one function for every `sla.models.KpiMetric`.

Every KPI is measured over a half-open period [start, end) and is built so that its value for a period is final
once the period has ended: each one counts work by the moment its verdict became known (a decision, a deadline
passing), never by a moment whose outcome may still be open. That is what lets the monthly evaluation judge a
month the minute it closes, and what keeps the figure on the dashboard identical to the one in `sla.KpiResult`.

Percentages are on a 0–100 scale (the KPI table's targets read "≥ 70"), rounded to two decimals. `value` is None
when there was nothing to measure: no decision, no deadline in the period. Zero is a measurement (no MQLs).

Every item of work counts whatever agreement version it ran under, judged by the terms it ran under: a clock keeps
the deadline it started with, a member the onboarding timeframe Z of the version they signed under. Passing
`agreement` judges the whole period by that version's own definitions instead (today only Z depends on it; the
first-response deadlines are facts recorded on the clocks). Counting is never narrowed to one version: an amendment
mid-period must not drop the work of leads that qualified under the previous one.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import CharField, Count, F, Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone

from handoffs.models import Handoff
from leads.models import LeadEvent, LeadEventKind, LeadState
from onboarding.models import Membership, MembershipEvent, MembershipEventKind
from sla.models import Agreement, BusinessCalendar, Clock, ClockState, Commitment, KpiMetric

_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)

KPI_DEFINITIONS: dict[str, str] = {
    KpiMetric.MQL_VOLUME: (
        "Leads that qualified as MQL during the period (the MQL event's time). A lead recycled and re-qualified "
        "within the same period counts once."
    ),
    KpiMetric.MQL_ACCEPTANCE_RATE: (
        "Of the Marketing → Outreach hand-offs Outreach answered during the period (accepted or rejected; "
        "by decision time), the % accepted. Hand-offs still pending are not counted until they are answered."
    ),
    KpiMetric.FIRST_RESPONSE_HOURS: (
        "Median working hours from hand-off to Outreach's answer (accept or reject), over the hand-offs answered "
        "during the period, counted in the first-response commitment's business calendar (nights, weekends and "
        "holidays do not count). Unanswered hand-offs are not in the median; they count as misses in "
        "'% answered within target'."
    ),
    KpiMetric.FIRST_RESPONSE_WITHIN_TARGET: (
        "Of the hand-offs whose first-response deadline fell during the period (and has passed), the % answered "
        "by the deadline. A hand-off still unanswered after its deadline counts as a miss. The deadline is the one "
        "set by the agreement version the hand-off was made under."
    ),
    KpiMetric.SQL_TO_MEMBER_RATE: (
        "Of the SQLs Outreach closed during the period (converted, recycled or disqualified after acceptance), "
        "the % converted to a member."
    ),
    KpiMetric.ONBOARDED_WITHIN_TARGET: (
        "Of the new members whose onboarding deadline (signing + the agreement's Z calendar days) fell during "
        "the period and has passed, the % whose welcome step was done by the deadline. Members who churned "
        "before their deadline without being onboarded are left out."
    ),
    KpiMetric.RENEWAL_RATE: (
        "Of the membership terms that ended during the period (term end date in the period and passed), the % "
        "renewed (early or on time). A term that ended without renewal, lapsed or churned, counts as not renewed."
    ),
    KpiMetric.HANDOFF_COMPLETENESS: (
        "Of the Marketing → Outreach hand-offs made during the period, the % carrying every field the agreement "
        "requires (as checked at hand-off time)."
    ),
}

# The unit each KPI's value is in, for display next to values and targets.
KPI_UNITS: dict[str, str] = {
    KpiMetric.MQL_VOLUME: "",
    KpiMetric.FIRST_RESPONSE_HOURS: "h",
}


def kpi_unit(metric: str) -> str:
    return KPI_UNITS.get(metric, "%")


@dataclass(frozen=True)
class KpiValue:
    value: Decimal | None  # None when there is nothing to measure (e.g. no hand-offs in the period)
    numerator: Decimal | None
    denominator: Decimal | None


def _rate(numerator: int, denominator: int) -> KpiValue:
    if not denominator:
        return KpiValue(value=None, numerator=Decimal(numerator), denominator=Decimal(denominator))
    value = (Decimal(numerator) * _HUNDRED / Decimal(denominator)).quantize(_CENT, rounding=ROUND_HALF_UP)
    return KpiValue(value=value, numerator=Decimal(numerator), denominator=Decimal(denominator))


def mql_volume(*, start: datetime, end: datetime, agreement: Agreement | None = None) -> KpiValue:
    """Distinct leads with an MQL event in the period; re-qualifying after a recycle is not a second MQL."""
    n = LeadEvent.objects.filter(kind=LeadEventKind.MQL_QUALIFIED, at__gte=start, at__lt=end).aggregate(
        n=Count("lead", distinct=True)
    )["n"]
    return KpiValue(value=Decimal(n), numerator=Decimal(n), denominator=None)


def mql_acceptance_rate(*, start: datetime, end: datetime, agreement: Agreement | None = None) -> KpiValue:
    """Accepted / answered, by decision time: the verdict on a period is final when the period ends."""
    totals = Handoff.objects.filter(
        kind=Handoff.Kind.TO_OUTREACH,
        status__in=[Handoff.Status.ACCEPTED, Handoff.Status.REJECTED],
        decided_at__gte=start,
        decided_at__lt=end,
    ).aggregate(decided=Count("pk"), accepted=Count("pk", filter=Q(status=Handoff.Status.ACCEPTED)))
    return _rate(totals["accepted"], totals["decided"])


def first_response_hours(*, start: datetime, end: datetime, agreement: Agreement | None = None) -> KpiValue:
    """Median business hours to answer a hand-off, in each clock's own term calendar.

    Business time has no SQL form (holidays, local working windows, DST), so the rows of the period are read once
    and measured with the same arithmetic that set their deadlines; three queries whatever the volume."""
    rows = list(
        Clock.objects.filter(
            commitment=Commitment.FIRST_RESPONSE,
            state__in=[ClockState.MET, ClockState.BREACHED],
            stopped_at__gte=start,
            stopped_at__lt=end,
        ).values_list("started_at", "stopped_at", "term__calendar_id")
    )
    # All calendars (a handful), read whether or not there are rows: the query count stays the same.
    calendars = {c.pk: c for c in BusinessCalendar.objects.prefetch_related("working_hours", "holidays")}
    if not rows:
        return KpiValue(value=None, numerator=None, denominator=Decimal(0))
    specs: dict[tuple[int | None, int], object] = {}
    hours = []
    for started_at, stopped_at, calendar_id in rows:
        key = (calendar_id, started_at.year)
        if key not in specs:
            calendar = calendars.get(calendar_id)
            # A clock without a term is one an admin made by hand: plain elapsed time is the honest measure.
            specs[key] = calendar.spec(around=started_at) if calendar else None
        spec = specs[key]
        elapsed = spec.elapsed(started_at, stopped_at) if spec else max(stopped_at - started_at, timedelta(0))
        hours.append(Decimal(elapsed.total_seconds()) / Decimal(3600))
    median = Decimal(statistics.median(hours)).quantize(_CENT, rounding=ROUND_HALF_UP)
    return KpiValue(value=median, numerator=None, denominator=Decimal(len(hours)))


def first_response_within_target(*, start: datetime, end: datetime, agreement: Agreement | None = None) -> KpiValue:
    """Deadline cohort: every first-response clock due in the period, judged once its deadline has passed."""
    now = timezone.now()
    totals = Clock.objects.filter(
        commitment=Commitment.FIRST_RESPONSE,
        due_at__gte=start,
        due_at__lt=min(end, now),
    ).aggregate(
        due=Count("pk", filter=~Q(state=ClockState.CANCELLED)),
        met=Count("pk", filter=Q(state=ClockState.MET, stopped_at__lte=F("due_at"))),
    )
    return _rate(totals["met"], totals["due"])


def sql_to_member_rate(*, start: datetime, end: datetime, agreement: Agreement | None = None) -> KpiValue:
    """SQLs closed in the period (won, recycled or disqualified after acceptance): % won."""
    closing = [LeadEventKind.CONVERTED, LeadEventKind.RECYCLED, LeadEventKind.DISQUALIFIED]
    totals = LeadEvent.objects.filter(
        kind__in=closing,
        from_state__in=[LeadState.SQL, LeadState.WORKING],
        at__gte=start,
        at__lt=end,
    ).aggregate(closed=Count("pk"), won=Count("pk", filter=Q(kind=LeadEventKind.CONVERTED)))
    return _rate(totals["won"], totals["closed"])


def onboarded_within_target(*, start: datetime, end: datetime, agreement: Agreement | None = None) -> KpiValue:
    """Deadline cohort: members whose signing + Z days fell in the period; met when onboarded by then.

    Z belongs to each member's own version unless `agreement` is given; with several versions the deadline window
    becomes one Q per version (a handful), still one query."""
    now = timezone.now()
    until = min(end, now)
    if agreement is not None:
        windows = [(Q(), timedelta(days=agreement.onboarded_within_days))]
    else:
        windows = [
            (Q(agreement_id=pk), timedelta(days=days))
            for pk, days in Agreement.objects.values_list("pk", "onboarded_within_days")
        ]
    if not windows:
        return _rate(0, 0)
    due_q, met_q, churned_first_q = Q(pk__in=[]), Q(pk__in=[]), Q(pk__in=[])
    for version_q, z in windows:
        due_q |= version_q & Q(signed_at__gte=start - z, signed_at__lt=until - z)
        met_q |= version_q & Q(onboarded_at__lte=F("signed_at") + z)
        churned_first_q |= version_q & Q(churned_at__lte=F("signed_at") + z)
    # Churned before the deadline without onboarding: there was no one left to onboard.
    left_early = Q(onboarded_at__isnull=True) & churned_first_q
    totals = Membership.objects.filter(due_q).aggregate(
        due=Count("pk", filter=~left_early), met=Count("pk", filter=met_q)
    )
    return _rate(totals["met"], totals["due"])


def renewal_rate(*, start: datetime, end: datetime, agreement: Agreement | None = None) -> KpiValue:
    """Term-end cohort: renewals whose previous term ended in the period, against all terms that ended then.

    A renewal moves `term_end` forward, so a membership whose current term end lies in the past part of the period
    is exactly one that was not renewed; renewed terms are found through their RENEWED event."""
    first_day = timezone.localdate(start)
    # Period ends are exclusive instants; a term counts once its last day is over.
    last_day = min(timezone.localdate(end - timedelta(microseconds=1)), timezone.localdate() - timedelta(days=1))
    if last_day < first_day:
        return _rate(0, 0)
    renewed = (
        MembershipEvent.objects.filter(kind=MembershipEventKind.RENEWED)
        .annotate(previous_end=Cast(KT("data__previous_term_end"), output_field=CharField()))
        .filter(previous_end__gte=first_day.isoformat(), previous_end__lte=last_day.isoformat())
        .aggregate(n=Count("pk"))["n"]
    )
    lapsed = Membership.objects.filter(term_end__gte=first_day, term_end__lte=last_day).aggregate(n=Count("pk"))["n"]
    return _rate(renewed, renewed + lapsed)


def handoff_completeness(*, start: datetime, end: datetime, agreement: Agreement | None = None) -> KpiValue:
    """Hand-offs made in the period: % complete at hand-off time."""
    totals = Handoff.objects.filter(kind=Handoff.Kind.TO_OUTREACH, created_at__gte=start, created_at__lt=end).aggregate(
        made=Count("pk"), complete=Count("pk", filter=Q(is_complete=True))
    )
    return _rate(totals["complete"], totals["made"])


KPI_FUNCTIONS = {
    KpiMetric.MQL_VOLUME: mql_volume,
    KpiMetric.MQL_ACCEPTANCE_RATE: mql_acceptance_rate,
    KpiMetric.FIRST_RESPONSE_HOURS: first_response_hours,
    KpiMetric.FIRST_RESPONSE_WITHIN_TARGET: first_response_within_target,
    KpiMetric.SQL_TO_MEMBER_RATE: sql_to_member_rate,
    KpiMetric.ONBOARDED_WITHIN_TARGET: onboarded_within_target,
    KpiMetric.RENEWAL_RATE: renewal_rate,
    KpiMetric.HANDOFF_COMPLETENESS: handoff_completeness,
}


def kpi_compute(metric: str, *, start: datetime, end: datetime, agreement: Agreement | None = None) -> KpiValue:
    """The value of one KPI over [start, end); see KPI_DEFINITIONS for what each one counts."""
    try:
        compute = KPI_FUNCTIONS[metric]
    except KeyError:
        raise ValueError(f"Unknown KPI metric {metric!r}") from None
    if end <= start:
        raise ValueError(f"The period must end after it starts ({start} – {end})")
    return compute(start=start, end=end, agreement=agreement)
