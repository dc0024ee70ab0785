"""Reads for the shared dashboard, the team pages, the scorecards, the digest and the review page.

Everything here runs a fixed number of queries whatever the data size: the funnel and its trends come from the
daily rollups (cost follows the days shown), the KPI table and the cohort metrics from single aggregates, and the
bottlenecks from a few indexed queries over open work.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Min, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.models import TeamKind
from handoffs.models import Handoff
from leads.models import DisqualifyReason, LeadSource, RecycleReason, RejectReason
from onboarding.models import ChurnReason, Membership, MembershipType, MemberState
from sla.models import (
    OPEN_CLOCK_STATES,
    Agreement,
    Clock,
    ClockState,
    Commitment,
    Comparator,
    Escalation,
    EscalationKind,
    KpiMetric,
    KpiResult,
    KpiTarget,
    Review,
)

from . import measures
from .goals import Scorecard, scorecards_build
from .kpis import KPI_DEFINITIONS, KpiValue, kpi_compute, kpi_unit
from .measures import MEASURE_DEFINITIONS, Segment
from .models import CampaignCost, SharedGoal
from .periods import DASHBOARD_TEAMS, Filters, add_months, kpi_period, month_start
from .rollups import Measure, RollupRow, day_start, rollup_rows_read
from .tables import Column, Table

TEAM_LABELS = dict(TeamKind.choices)
SOURCE_LABELS = dict(LeadSource.choices) | {"": "Direct (no lead)"}
TYPE_LABELS = dict(MembershipType.choices) | {"": "—"}
# Reason codes repeat across lists with different meanings ("competitor", "other"): label them per measure.
REASON_LABELS = {
    Measure.REJECTED: dict(RejectReason.choices),
    Measure.DISQUALIFIED: dict(DisqualifyReason.choices),
    Measure.SQL_LOST: dict(DisqualifyReason.choices),
    Measure.SQL_RECYCLED: dict(RecycleReason.choices),
    Measure.CHURNED: dict(ChurnReason.choices),
}


def reason_label(measure: str, code: str) -> str:
    return REASON_LABELS.get(measure, {}).get(code, code or "—")


OPEN_ESCALATION = [Escalation.Status.OPEN, Escalation.Status.ACKNOWLEDGED]
HISTORY_PERIODS = 6
AMBER_BAND = Decimal("0.10")  # within 10 % of the target on the wrong side: amber
UNENGAGED_AFTER_DAYS = 30

# --- histograms (minutes → count), merged from rollup rows ----------------------------------------------


def hist_merge(rows: list[RollupRow]) -> dict[int, int]:
    merged: Counter[int] = Counter()
    for r in rows:
        for minutes, n in r.minutes.items():
            merged[int(minutes)] += n
    return dict(merged)


def hist_quantile(hist: dict[int, int], q: float) -> Decimal | None:
    """Median (q=0.5: the middle value, or the mean of the two middle ones) or nearest-rank percentile."""
    n = sum(hist.values())
    if not n:
        return None
    ordered = sorted(hist.items())

    def nth(k: int) -> int:  # 0-based
        seen = 0
        for value, count in ordered:
            seen += count
            if k < seen:
                return value
        return ordered[-1][0]

    if q == 0.5:
        return (Decimal(nth((n - 1) // 2)) + Decimal(nth(n // 2))) / 2
    rank = max(1, -(-int(q * 100) * n // 100))  # ceil(q × n) without float error
    return Decimal(nth(rank - 1))


def hist_within(hist: dict[int, int], minutes: int) -> tuple[int, int]:
    return sum(n for m, n in hist.items() if m <= minutes), sum(hist.values())


def pct(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- rollup access ----------------------------------------------------------------------------------------


@dataclass
class Rollups:
    rows: list[RollupRow]

    def of(self, measure: str, **dims) -> list[RollupRow]:
        return [r for r in self.rows if r.measure == measure and all(getattr(r, k) == v for k, v in dims.items())]

    def count(self, measure: str, **dims) -> int:
        return sum(r.count for r in self.of(measure, **dims))

    def total(self, measure: str) -> Decimal:
        return sum((r.total for r in self.of(measure)), Decimal(0))

    def hist(self, measure: str) -> dict[int, int]:
        return hist_merge(self.of(measure))

    def grouped(self, measure: str, *keys: str) -> dict[tuple, int]:
        out: dict[tuple, int] = defaultdict(int)
        for r in self.of(measure):
            out[tuple(getattr(r, k) for k in keys)] += r.count
        return dict(out)


def bucket_of(day: date, *, monthly: bool) -> date:
    return day.replace(day=1) if monthly else day - timedelta(days=day.weekday())


def buckets(filters: Filters) -> tuple[list[date], bool]:
    monthly = filters.days > 120
    first = bucket_of(filters.start, monthly=monthly)
    out = []
    current = first
    while current < filters.end:
        out.append(current)
        current = add_months(current, 1) if monthly else current + timedelta(days=7)
    return out, monthly


def series(rollups: Rollups, measure: str, filters: Filters, **dims) -> list[int]:
    keys, monthly = buckets(filters)
    counts: Counter[date] = Counter()
    for r in rollups.of(measure, **dims):
        counts[bucket_of(r.day, monthly=monthly)] += r.count
    return [counts.get(k, 0) for k in keys]


def bucket_labels(filters: Filters) -> list[str]:
    keys, monthly = buckets(filters)
    return [f"{k:%b %y}" if monthly else f"{k.day} {k:%b}" for k in keys]


# --- the funnel -----------------------------------------------------------------------------------------

FUNNEL_STAGES = [
    # key, label, entry measure, duration measure (time spent in the previous stage), owning team
    ("prospect", "Prospect", Measure.PROSPECT, None, TeamKind.MARKETING),
    ("mql", "MQL", Measure.MQL, Measure.MQL, TeamKind.MARKETING),
    ("sql", "SQL", Measure.SQL, Measure.SQL, TeamKind.OUTREACH),
    ("member", "Member", Measure.MEMBER, Measure.WON, TeamKind.OUTREACH),
    ("onboarded", "Onboarded", Measure.ONBOARDED, Measure.ONBOARDED, TeamKind.MEMBER_SUCCESS),
    ("engaged", "Engaged", Measure.ENGAGED, Measure.ENGAGED, TeamKind.MEMBER_SUCCESS),
    ("renewed", "Renewed", Measure.RENEWED, Measure.RENEWED, TeamKind.MEMBER_SUCCESS),
]
FUNNEL_TIME_LABELS = {
    "prospect": "—",
    "mql": "created (or recycled) → MQL",
    "sql": "MQL → accepted",
    "member": "accepted → signed",
    "onboarded": "signed → welcome sent",
    "engaged": "onboarded → engaged",
    "renewed": "signed (or last renewal) → renewed",
}
FUNNEL_DEFINITION = (
    "Entered: how many leads or members reached the stage during the period (a lead re-qualified after a recycle "
    "enters MQL again). Conversion: entries into the stage ÷ entries into the previous stage in the same period, a "
    "flow ratio, so it can pass 100 % when earlier leads move on. Median time: calendar time from the previous "
    "stage to this one, over the entries of the period. Member includes direct sign-ups without a lead. A "
    "membership-type filter narrows the member stages only; source and campaign narrow every stage."
)


@dataclass(frozen=True)
class FunnelStage:
    key: str
    label: str
    team: str
    count: int
    conversion: Decimal | None
    median_minutes: Decimal | None
    time_label: str


def funnel_build(rollups: Rollups) -> list[FunnelStage]:
    stages, previous = [], None
    for key, label, measure, duration, team in FUNNEL_STAGES:
        count = rollups.count(measure)
        stages.append(
            FunnelStage(
                key=key,
                label=label,
                team=team,
                count=count,
                conversion=pct(count, previous) if previous is not None else None,
                median_minutes=hist_quantile(rollups.hist(duration), 0.5) if duration else None,
                time_label=FUNNEL_TIME_LABELS[key],
            )
        )
        previous = count
    return stages


def funnel_table(stages: list[FunnelStage]) -> Table:
    return Table(
        key="funnel",
        title="Funnel",
        definition=FUNNEL_DEFINITION,
        columns=[
            Column("stage", "Stage"),
            Column("team", "Team"),
            Column("count", "Entered", "int"),
            Column("conversion", "Conversion from previous stage", "pct"),
            Column("median_minutes", "Median time to get here", "duration"),
            Column("time_label", "Measured from"),
        ],
        rows=[
            {
                "stage": s.label,
                "team": TEAM_LABELS[s.team],
                "count": s.count,
                "conversion": s.conversion,
                "median_minutes": s.median_minutes,
                "time_label": s.time_label,
            }
            for s in stages
        ],
    )


# --- the KPI table ----------------------------------------------------------------------------------------

RAG_DEFINITION = (
    "Green: target met. Amber: missed by less than 10 % of the target. Red: missed by more. Grey: nothing to "
    "measure. A count (MQLs delivered) in a month still running is judged on pace: the count so far projected to "
    "the month's end. 'This period' is the month or quarter containing the last day shown, up to now; earlier "
    "periods are the recorded monthly/quarterly evaluations. The KPI table always covers the whole organisation."
)


def rag(target: KpiTarget, value: Decimal | None) -> str:
    if value is None:
        return "none"
    if target.is_met(value):
        return "green"
    band = abs(target.target) * AMBER_BAND
    if target.comparator == Comparator.AT_LEAST:
        return "amber" if value >= target.target - band else "red"
    return "amber" if value <= target.target + band else "red"


@dataclass
class KpiRow:
    target: KpiTarget
    period: tuple[date, date]
    result: KpiValue
    status: str
    history: list[KpiResult]
    consecutive_misses: int
    open_escalations: int
    definition: str
    unit: str
    projected: Decimal | None = None  # a count KPI in a period still running: where the current pace ends

    @property
    def label(self) -> str:
        return self.target.get_metric_display()


COUNT_METRICS = {KpiMetric.MQL_VOLUME}


def pace(value: Decimal | None, *, period: tuple[date, date], today: date) -> Decimal | None:
    """A count over a period still running, projected to the period's end at the pace so far (None if over)."""
    start, end = period
    if value is None or today >= end or today < start:
        return None
    elapsed = (today - start).days + 1
    return (value * (end - start).days / elapsed).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def kpi_rows_build(*, targets: list[KpiTarget], day: date, today: date | None = None) -> list[KpiRow]:
    """The KPI table for the period containing `day`: one query per distinct metric and period, plus two."""
    if not targets:
        return []
    today = today or timezone.localdate()
    cache: dict[tuple, KpiValue] = {}
    periods = {t.pk: kpi_period(t.frequency, day) for t in targets}
    earliest = add_months(min(p[0] for p in periods.values()), -3 * HISTORY_PERIODS)
    history: dict[tuple, list[KpiResult]] = defaultdict(list)
    for result in KpiResult.objects.filter(
        team_id__in={t.team_id for t in targets}, period_start__gte=earliest
    ).order_by("period_start"):
        history[(result.team_id, result.metric, result.frequency)].append(result)
    escalations = {
        (e["team"], e["kpi_result__metric"]): e["n"]
        for e in Escalation.objects.filter(kind=EscalationKind.KPI_MISS, status__in=OPEN_ESCALATION)
        .values("team", "kpi_result__metric")
        .annotate(n=Count("pk"))
    }
    rows = []
    for target in targets:
        start, end = periods[target.pk]
        key = (target.metric, start, end)
        if key not in cache:
            cache[key] = kpi_compute(target.metric, start=day_start(start), end=day_start(end))
        result = cache[key]
        past = [r for r in history[(target.team_id, target.metric, target.frequency)] if r.period_start < start]
        past = past[-HISTORY_PERIODS:]
        projected = pace(result.value, period=(start, end), today=today) if target.metric in COUNT_METRICS else None
        rows.append(
            KpiRow(
                target=target,
                period=(start, end),
                result=result,
                status=rag(target, projected if projected is not None else result.value),
                projected=projected,
                history=past,
                consecutive_misses=past[-1].consecutive_misses if past else 0,
                open_escalations=escalations.get((target.team.kind, target.metric), 0),
                definition=KPI_DEFINITIONS[target.metric],
                unit=kpi_unit(target.metric),
            )
        )
    return rows


def kpi_table(rows: list[KpiRow]) -> Table:
    return Table(
        key="kpis",
        title="The agreement's KPIs",
        definition=RAG_DEFINITION,
        columns=[
            Column("team", "Team"),
            Column("metric", "KPI"),
            Column("target", "Target"),
            Column("period", "Period"),
            Column("value", "This period", "decimal"),
            Column("basis", "Based on"),
            Column("status", "Status", "rag"),
            Column("history", "Last periods"),
            Column("misses", "Consecutive misses", "int"),
            Column("escalations", "Open escalations", "int"),
        ],
        rows=[
            {
                "team": r.target.team.name,
                "metric": r.label,
                "target": f"{r.target.get_comparator_display()} {r.target.target.normalize():f}{r.unit}",
                "period": f"{r.period[0]:%b %Y}" + ("" if r.target.frequency == "monthly" else " (quarter)"),
                "value": r.result.value,
                "basis": basis(r.result),
                "status": r.status,
                "history": " · ".join(f"{h.period_start:%b}: {'—' if h.value is None else h.value}" for h in r.history),
                "misses": r.consecutive_misses,
                "escalations": r.open_escalations,
            }
            for r in rows
        ],
    )


def basis(result: KpiValue) -> str:
    if result.denominator is None:
        return ""
    if result.numerator is None:
        return f"{result.denominator.normalize():f} measured"
    return f"{result.numerator.normalize():f} of {result.denominator.normalize():f}"


# --- the metric families ----------------------------------------------------------------------------------

FAMILY_COLUMNS = [
    Column("metric", "Metric"),
    Column("value", "Value", "value"),
    Column("basis", "Based on"),
    Column("definition", "Definition"),
]


def _metric(metric: str, value, kind: str, basis_text: str = "", definition: str = "") -> dict:
    return {"metric": metric, "value": value, "kind": kind, "basis": basis_text, "definition": definition}


def _rate_row(label: str, numerator: int, denominator: int, definition: str, of: str = "") -> dict:
    return _metric(label, pct(numerator, denominator), "pct", f"{numerator} of {denominator}{of}", definition)


def _from_value(label: str, value: KpiValue, kind: str, definition: str, note: str = "") -> dict:
    text = basis(value) + (f" {note}" if note else "")
    return _metric(label, value.value, kind, text.strip(), definition)


def families_build(
    *, rollups: Rollups, filters: Filters, costs: dict[str, Decimal], kpis: dict[str, KpiValue], live: dict
) -> dict[str, Table]:
    r = rollups
    fr = r.hist(Measure.FIRST_RESPONSE)
    answered = sum(fr.values())
    closed = r.count(Measure.WON) + r.count(Measure.SQL_RECYCLED) + r.count(Measure.SQL_LOST)
    handoffs = r.count(Measure.HANDOFF)
    mql_by_campaign = r.grouped(Measure.MQL, "campaign")
    costed_mqls = sum(n for (campaign,), n in mql_by_campaign.items() if campaign in costs)
    cost_total = sum(costs.values(), Decimal(0))
    whole = " (whole organisation)" if filters.source or filters.campaign or filters.membership_type else ""

    marketing = [
        _metric("MQLs delivered", r.count(Measure.MQL), "int", "qualifications in the period", "Every MQL event."),
        _from_value("% of new leads meeting the IMP", live["imp_share"], "pct", MEASURE_DEFINITIONS["imp_share"]),
        _from_value(
            "Lead-scoring accuracy (MQL → SQL or member)",
            live["scoring_accuracy"],
            "pct",
            MEASURE_DEFINITIONS["scoring_accuracy"],
        ),
        _metric(
            "Cost per MQL",
            (cost_total / costed_mqls).quantize(Decimal("0.01")) if costed_mqls and costs else None,
            "money",
            f"{cost_total:.2f} over {costed_mqls} MQLs of {len(costs)} costed campaigns"
            if costs
            else "no cost entered",
            MEASURE_DEFINITIONS["cost_per_mql"],
        ),
        _metric(
            "Touchpoints before hand-off (average)",
            (r.total(Measure.HANDOFF) / handoffs).quantize(Decimal("0.1")) if handoffs else None,
            "decimal",
            f"{handoffs} hand-offs",
            "Engagement of leads before hand-off: touchpoints (opens, events, downloads…) recorded before each "
            "hand-off made in the period, on average.",
        ),
        _rate_row(
            "Hand-offs with complete data",
            r.count(Measure.HANDOFF_COMPLETE),
            handoffs,
            KPI_DEFINITIONS[KpiMetric.HANDOFF_COMPLETENESS],
        ),
    ]
    within = {h: hist_within(fr, h * 60) for h in (1, 4, 24)}
    p50, p90 = hist_quantile(fr, 0.5), hist_quantile(fr, 0.9)
    sql_to_member = hist_quantile(r.hist(Measure.WON), 0.5)
    outreach = [
        _metric(
            "First response, median",
            p50,
            "bhours",
            f"{answered} answered",
            "Working hours from hand-off to accept or reject, in the first-response calendar.",
        ),
        _metric(
            "First response, 90th percentile",
            p90,
            "bhours",
            f"{answered} answered",
            "Nine in ten hand-offs answered within this many working hours.",
        ),
        *[
            _rate_row(
                f"Answered within {h} working hour{'s' if h > 1 else ''}",
                within[h][0],
                within[h][1],
                f"Share of the hand-offs answered in the period that were answered within {h} working hours.",
            )
            for h in (1, 4, 24)
        ],
        _from_value(
            "Answered within target (SLA compliance)",
            kpis[KpiMetric.FIRST_RESPONSE_WITHIN_TARGET],
            "pct",
            KPI_DEFINITIONS[KpiMetric.FIRST_RESPONSE_WITHIN_TARGET],
            whole,
        ),
        _from_value(
            "Follow-up attempts per SQL", live["attempts_per_sql"], "decimal", MEASURE_DEFINITIONS["attempts_per_sql"]
        ),
        _rate_row(
            "SQL → member conversion", r.count(Measure.WON), closed, KPI_DEFINITIONS[KpiMetric.SQL_TO_MEMBER_RATE]
        ),
        _metric(
            "Time from SQL to sign-up, median",
            sql_to_member,
            "duration",
            f"{r.count(Measure.WON)} conversions",
            "Calendar time from acceptance as SQL to the membership being signed, over conversions in the period.",
        ),
        _rate_row(
            "Recycle rate",
            r.count(Measure.SQL_RECYCLED),
            closed,
            "Of the SQLs closed in the period, the % returned to Marketing for nurture.",
        ),
    ]
    engagement = live["engagement"]
    success = [
        _from_value(
            "Onboarded within timeframe",
            kpis[KpiMetric.ONBOARDED_WITHIN_TARGET],
            "pct",
            KPI_DEFINITIONS[KpiMetric.ONBOARDED_WITHIN_TARGET],
            whole,
        ),
        _metric(
            "Time to onboard, median",
            hist_quantile(r.hist(Measure.ONBOARDED), 0.5),
            "duration",
            f"{r.count(Measure.ONBOARDED)} onboarded",
            "Calendar time from signing to the welcome step, over members onboarded in the period.",
        ),
        *[
            _from_value(
                f"Engagement score at {n} days (average)",
                engagement[n],
                "decimal",
                MEASURE_DEFINITIONS["engagement_30_60_90"],
            )
            for n in (30, 60, 90)
        ],
        _from_value(
            "Renewal rate", kpis[KpiMetric.RENEWAL_RATE], "pct", KPI_DEFINITIONS[KpiMetric.RENEWAL_RATE], whole
        ),
        _from_value("Upsell rate", live["upsell_rate"], "pct", MEASURE_DEFINITIONS["upsell_rate"]),
        _from_value("NPS after onboarding", live["nps"], "score", MEASURE_DEFINITIONS["nps"]),
    ]
    decided = r.count(Measure.SQL) + r.count(Measure.REJECTED)
    shared = [
        _rate_row("Hand-off acceptance", r.count(Measure.SQL), decided, KPI_DEFINITIONS[KpiMetric.MQL_ACCEPTANCE_RATE]),
        _from_value(
            "Hand-offs that became active members",
            live["handoff_to_member"],
            "pct",
            MEASURE_DEFINITIONS["handoff_to_member"],
        ),
        _from_value(
            "New members engaged within 90 days",
            live["engaged_within_window"],
            "pct",
            MEASURE_DEFINITIONS["engaged_within_window"],
        ),
        _metric(
            "Lead-quality issues fed back",
            r.count(Measure.REJECTED) + r.count(Measure.DISQUALIFIED),
            "int",
            f"{r.count(Measure.REJECTED)} rejections, {r.count(Measure.DISQUALIFIED)} disqualifications",
            "Hand-offs Outreach rejected and leads disqualified in the period, each with a coded reason.",
        ),
        _metric(
            "Churn reasons fed back",
            r.count(Measure.CHURNED),
            "int",
            "members who left in the period",
            "Members who churned in the period; each carries a coded reason (see Feedback loops).",
        ),
        _from_value(
            "SLA compliance: responded within target",
            kpis[KpiMetric.FIRST_RESPONSE_WITHIN_TARGET],
            "pct",
            KPI_DEFINITIONS[KpiMetric.FIRST_RESPONSE_WITHIN_TARGET],
            whole,
        ),
        _rate_row(
            "SLA compliance: hand-offs with complete data",
            r.count(Measure.HANDOFF_COMPLETE),
            handoffs,
            KPI_DEFINITIONS[KpiMetric.HANDOFF_COMPLETENESS],
        ),
    ]
    titles = {
        TeamKind.MARKETING: "Marketing",
        TeamKind.OUTREACH: "Outreach",
        TeamKind.MEMBER_SUCCESS: "Member Success",
        "shared": "Shared / alignment",
    }
    rows = {
        TeamKind.MARKETING: marketing,
        TeamKind.OUTREACH: outreach,
        TeamKind.MEMBER_SUCCESS: success,
        "shared": shared,
    }
    return {
        key: Table(key=f"family_{key}", title=f"{titles[key]} metrics", columns=FAMILY_COLUMNS, rows=rows[key])
        for key in titles
    }


# --- bottlenecks now --------------------------------------------------------------------------------------


def bottlenecks_build(*, now: datetime, team: str, versions: list[dict]) -> tuple[Table, Table]:
    """Open work that is stuck right now, and the most urgent clocks: five queries."""
    open_clock = Q(state__in=OPEN_CLOCK_STATES) | Q(state=ClockState.BREACHED, stopped_at__isnull=True)
    overdue = Q(state=ClockState.RUNNING, due_at__lte=now) | Q(state=ClockState.BREACHED, stopped_at__isnull=True)
    at_risk = Q(state=ClockState.RUNNING, warn_at__lte=now, due_at__gt=now)
    clocks = Clock.objects.filter(open_clock)
    if team:
        clocks = clocks.filter(team=team)
    totals = clocks.aggregate(
        at_risk=Count("pk", filter=at_risk),
        overdue=Count("pk", filter=overdue),
        followups=Count("pk", filter=Q(commitment=Commitment.FOLLOW_UP) & (at_risk | overdue)),
        oldest_overdue=Min("due_at", filter=overdue),
    )
    pending = Handoff.objects.filter(kind=Handoff.Kind.TO_OUTREACH, status=Handoff.Status.PENDING).aggregate(
        n=Count("pk"), oldest=Min("created_at")
    )
    not_onboarded_q = Q(state__in=[MemberState.SIGNED, MemberState.ONBOARDING])
    overdue_onboarding = Q(pk__in=[])
    for v in versions:
        overdue_onboarding |= Q(agreement_id=v["pk"], signed_at__lte=now - timedelta(days=v["onboarded_within_days"]))
    members = Membership.objects.aggregate(
        not_onboarded=Count("pk", filter=not_onboarded_q),
        overdue=Count("pk", filter=not_onboarded_q & overdue_onboarding),
        oldest=Min("signed_at", filter=not_onboarded_q),
        unengaged=Count(
            "pk",
            filter=Q(state=MemberState.ONBOARDED, signed_at__lte=now - timedelta(days=UNENGAGED_AFTER_DAYS)),
        ),
    )
    rows = [
        {
            "bottleneck": "Hand-offs waiting for Outreach",
            "team": TeamKind.OUTREACH,
            "count": pending["n"],
            "detail": _age("oldest waiting", pending["oldest"], now),
        },
        {
            "bottleneck": "Clocks about to breach",
            "team": team or "all",
            "count": totals["at_risk"],
            "detail": "past their warning point, not yet due",
        },
        {
            "bottleneck": "Deadlines missed, work still open",
            "team": team or "all",
            "count": totals["overdue"],
            "detail": _age("oldest due", totals["oldest_overdue"], now),
        },
        {
            "bottleneck": "Delayed follow-ups",
            "team": TeamKind.OUTREACH,
            "count": totals["followups"],
            "detail": "follow-up cadence at risk or missed",
        },
        {
            "bottleneck": "Members not yet onboarded",
            "team": TeamKind.MEMBER_SUCCESS,
            "count": members["not_onboarded"],
            "detail": f"{members['overdue']} past the onboarding timeframe; "
            + _age("oldest signed", members["oldest"], now),
        },
        {
            "bottleneck": "Unengaged members",
            "team": TeamKind.MEMBER_SUCCESS,
            "count": members["unengaged"],
            "detail": f"onboarded, {UNENGAGED_AFTER_DAYS}+ days since signing, engagement threshold not reached",
        },
    ]
    if team:
        rows = [row for row in rows if row["team"] in (team, "all", team or "all")]
    for row in rows:
        row["team"] = TEAM_LABELS.get(row["team"], "All teams")
    summary = Table(
        key="bottlenecks",
        title="Bottlenecks now",
        columns=[
            Column("bottleneck", "Bottleneck"),
            Column("team", "Team"),
            Column("count", "Now", "int"),
            Column("detail", "Detail"),
        ],
        rows=rows,
        definition="Open work as of this moment, whatever the period chosen.",
    )
    urgent = list(clocks.filter(at_risk | overdue).select_related("owner").order_by("due_at")[:12])
    urgent_table = Table(
        key="urgent",
        title="Most urgent clocks",
        columns=[
            Column("commitment", "Commitment"),
            Column("item", "Item"),
            Column("team", "Team"),
            Column("owner", "Owner"),
            Column("due_at", "Due", "datetime"),
            Column("state", "State"),
        ],
        rows=[
            {
                "commitment": c.get_commitment_display(),
                "item": c.subject_label,
                "team": TEAM_LABELS.get(c.team, c.team),
                "owner": str(c.owner) if c.owner else "—",
                "due_at": c.due_at,
                "state": "overdue" if c.due_at <= now else "due soon",
            }
            for c in urgent
        ],
        empty="No clock is near or past its deadline.",
    )
    return summary, urgent_table


def _age(label: str, since: datetime | None, now: datetime) -> str:
    if since is None:
        return "none"
    hours = (now - since).total_seconds() / 3600
    return f"{label} {hours:.0f} h ago" if hours < 48 else f"{label} {hours / 24:.0f} days ago"


# --- feedback loops ---------------------------------------------------------------------------------------


def _reason_table(
    rollups: Rollups, measure: str, key: str, title: str, dims: tuple[str, ...], definition: str
) -> Table:
    labels = {"source": "Source", "campaign": "Campaign", "membership_type": "Membership type"}
    grouped = rollups.grouped(measure, "reason", *dims)
    rows = []
    for values, n in sorted(grouped.items(), key=lambda item: (-item[1], item[0])):
        row = {"reason": reason_label(measure, values[0]), "count": n}
        for dim, value in zip(dims, values[1:], strict=True):
            row[dim] = {"source": SOURCE_LABELS, "membership_type": TYPE_LABELS}.get(dim, {}).get(value, value or "—")
        rows.append(row)
    return Table(
        key=key,
        title=title,
        columns=[Column("reason", "Reason"), *[Column(d, labels[d]) for d in dims], Column("count", "Count", "int")],
        rows=rows,
        definition=definition,
        empty="No reasons recorded in this period.",
        display_limit=10,
    )


def reason_trend(rollups: Rollups, measure: str, filters: Filters) -> dict[str, list[int]]:
    reasons = sorted({r.reason for r in rollups.of(measure)})
    return {reason_label(measure, reason): series(rollups, measure, filters, reason=reason) for reason in reasons}


# --- renewal cohorts ---------------------------------------------------------------------------------------

COHORT_MONTHS = 24
COHORT_DEFINITION = (
    "Members grouped by the month they signed and the source of their lead (direct sign-ups have none), for the "
    f"{COHORT_MONTHS} months up to the end of the period. Renewed: renewed at least once. Churned: left, whenever. "
    "Renewal rate: renewed ÷ members whose first term has ended (renewed, or term end passed)."
)


def cohorts_build(*, filters: Filters, segment: Segment, today: date) -> tuple[Table, Table]:
    """(by source, by sign-up month and source) from one grouped query."""
    first = add_months(month_start(filters.last_day), -(COHORT_MONTHS - 1))
    ended = Q(renewals__gt=0) | Q(term_end__lt=today)
    rows = (
        Membership.objects.filter(segment.member_q(), signed_at__gte=day_start(first), signed_at__lt=filters.end_at)
        .annotate(month=TruncMonth("signed_at"), lead_source=F("lead__source"))
        .values("month", "lead_source")
        .annotate(
            members=Count("pk"),
            renewed=Count("pk", filter=Q(renewals__gt=0)),
            churned=Count("pk", filter=Q(state=MemberState.CHURNED)),
            ended=Count("pk", filter=ended),
        )
        .order_by("month", "lead_source")
    )
    out = []
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
        out.append(
            {
                "month": f"{month:%Y-%m}",
                "source": SOURCE_LABELS.get(row["lead_source"] or "", row["lead_source"]),
                "members": row["members"],
                "renewed": row["renewed"],
                "churned": row["churned"],
                "ended": row["ended"],
                "renewal_rate": pct(row["renewed"], row["ended"]),
                "churn_rate": pct(row["churned"], row["members"]),
            }
        )
    by_source: dict[str, Counter] = defaultdict(Counter)
    for row in out:
        by_source[row["source"]].update({k: row[k] for k in ("members", "renewed", "churned", "ended")})
    sources = Table(
        key="cohort_sources",
        title="Which sources bring members who stay",
        columns=[
            Column("source", "Lead source"),
            Column("members", "Members", "int"),
            Column("renewed", "Renewed", "int"),
            Column("churned", "Churned", "int"),
            Column("renewal_rate", "Renewal rate", "pct"),
            Column("churn_rate", "Churn rate", "pct"),
        ],
        rows=sorted(
            (
                {
                    "source": source,
                    **{k: c[k] for k in ("members", "renewed", "churned")},
                    "renewal_rate": pct(c["renewed"], c["ended"]),
                    "churn_rate": pct(c["churned"], c["members"]),
                }
                for source, c in by_source.items()
            ),
            key=lambda r: -r["members"],
        ),
        definition=COHORT_DEFINITION,
        empty="No members signed in these months.",
    )
    return sources, Table(
        key="cohorts",
        title="Renewal cohorts",
        columns=[
            Column("month", "Signed in"),
            Column("source", "Lead source"),
            Column("members", "Members", "int"),
            Column("renewed", "Renewed", "int"),
            Column("churned", "Churned", "int"),
            Column("ended", "First term ended", "int"),
            Column("renewal_rate", "Renewal rate", "pct"),
            Column("churn_rate", "Churn rate", "pct"),
        ],
        rows=out,
        definition=COHORT_DEFINITION,
        empty="No members signed in these months.",
        display_limit=24,
    )


# --- the whole dashboard -----------------------------------------------------------------------------------


@dataclass
class Dashboard:
    filters: Filters
    now: datetime
    agreement: Agreement | None
    funnel: list[FunnelStage]
    kpi_rows: list[KpiRow]
    families: dict[str, Table]
    tables: dict[str, Table]
    rollups: Rollups
    refreshed_at: datetime | None
    live_from: date | None
    scorecards: list[Scorecard] = field(default_factory=list)

    def team_order(self) -> list[str]:
        team = self.filters.team
        return [team, *[t for t in DASHBOARD_TEAMS if t != team]] if team else list(DASHBOARD_TEAMS)

    def kpi_rows_for(self, team: str) -> list[KpiRow]:
        return [r for r in self.kpi_rows if r.target.team.kind == team]


def active_agreement() -> Agreement | None:
    return Agreement.objects.filter(status=Agreement.Status.ACTIVE).first()


def dashboard_build(*, filters: Filters, now: datetime | None = None, with_scorecards: bool = True) -> Dashboard:
    """Everything the shared dashboard shows, in a fixed number of queries."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    segment = Segment(source=filters.source, campaign=filters.campaign, membership_type=filters.membership_type)
    read = rollup_rows_read(
        since=filters.start,
        until=filters.end,
        source=filters.source,
        campaign=filters.campaign,
        membership_type=filters.membership_type,
    )
    rollups = Rollups(read.rows)
    agreement = active_agreement()
    versions = list(Agreement.objects.values("pk", "onboarded_within_days"))
    targets = (
        list(KpiTarget.objects.filter(agreement=agreement).select_related("team").order_by("team__name", "pk"))
        if agreement
        else []
    )
    order = [filters.team] + [t for t in DASHBOARD_TEAMS if t != filters.team]
    team_rank = {kind: i for i, kind in enumerate(order)}
    targets.sort(key=lambda t: (team_rank.get(t.team.kind, 9), t.pk))
    kpi_rows = kpi_rows_build(targets=targets, day=filters.last_day, today=today)

    start, end = filters.start_at, filters.end_at
    period_kpis = {
        metric: kpi_compute(metric, start=start, end=end)
        for metric in (
            KpiMetric.FIRST_RESPONSE_WITHIN_TARGET,
            KpiMetric.ONBOARDED_WITHIN_TARGET,
            KpiMetric.RENEWAL_RATE,
        )
    }
    live = {
        "imp_share": measures.imp_share(start=start, end=end, segment=segment),
        "scoring_accuracy": measures.scoring_accuracy(start=start, end=end, segment=segment),
        "attempts_per_sql": measures.attempts_per_sql(start=start, end=end, segment=segment),
        "engagement": measures.engagement_at_days(start=start, end=end, segment=segment),
        "upsell_rate": measures.upsell_rate(start=start, end=end, segment=segment),
        "nps": measures.nps(start=start, end=end, segment=segment),
        "handoff_to_member": measures.handoff_to_member(start=start, end=end, segment=segment),
        "engaged_within_window": measures.engaged_within_window(start=start, end=end, segment=segment),
    }
    cost_rows = CampaignCost.objects.filter(month__gte=filters.start, month__lt=filters.end)
    if filters.campaign:
        cost_rows = cost_rows.filter(campaign=filters.campaign)
    if filters.source:
        cost_rows = cost_rows.filter(Q(source=filters.source) | Q(source=""))
    costs = {row["campaign"]: row["cost"] for row in cost_rows.values("campaign").annotate(cost=Sum("amount"))}
    families = families_build(rollups=rollups, filters=filters, costs=costs, kpis=period_kpis, live=live)
    funnel = funnel_build(rollups)
    bottlenecks, urgent = bottlenecks_build(now=now, team=filters.team, versions=versions)

    mql_by_campaign = rollups.grouped(Measure.MQL, "campaign")
    costs_table = Table(
        key="campaign_costs",
        title="Cost per MQL by campaign",
        columns=[
            Column("campaign", "Campaign"),
            Column("cost", "Cost entered", "money"),
            Column("mqls", "MQLs", "int"),
            Column("cost_per_mql", "Cost per MQL", "money"),
        ],
        rows=[
            {
                "campaign": campaign,
                "cost": cost,
                "mqls": mql_by_campaign.get((campaign,), 0),
                "cost_per_mql": (cost / mql_by_campaign[(campaign,)]).quantize(Decimal("0.01"))
                if mql_by_campaign.get((campaign,))
                else None,
            }
            for campaign, cost in sorted(costs.items())
        ],
        definition=MEASURE_DEFINITIONS["cost_per_mql"],
        empty="No campaign costs entered for these months (Django admin → Campaign costs).",
    )
    cohort_sources, cohorts = cohorts_build(filters=filters, segment=segment, today=today)
    tables = {
        "funnel": funnel_table(funnel),
        "kpis": kpi_table(kpi_rows),
        **{t.key: t for t in families.values()},
        "bottlenecks": bottlenecks,
        "urgent": urgent,
        "rejections": _reason_table(
            rollups,
            Measure.REJECTED,
            "rejections",
            "Why Outreach rejected hand-offs",
            ("source", "campaign"),
            "Hand-offs rejected in the period, by the reason Outreach gave and the lead's source and campaign.",
        ),
        "disqualifications": _reason_table(
            rollups,
            Measure.DISQUALIFIED,
            "disqualifications",
            "Why leads were disqualified",
            ("source", "campaign"),
            "Leads disqualified in the period (at any stage), by reason, source and campaign.",
        ),
        "churn": _reason_table(
            rollups,
            Measure.CHURNED,
            "churn",
            "Why members left",
            ("source", "membership_type"),
            "Members who churned in the period, by reason, the source of their lead and their membership type.",
        ),
        "cohort_sources": cohort_sources,
        "cohorts": cohorts,
        "campaign_costs": costs_table,
    }
    dashboard = Dashboard(
        filters=filters,
        now=now,
        agreement=agreement,
        funnel=funnel,
        kpi_rows=kpi_rows,
        families=families,
        tables=tables,
        rollups=rollups,
        refreshed_at=read.refreshed_at,
        live_from=read.live_from,
    )
    if with_scorecards:
        dashboard.scorecards = scorecards_for(agreement=agreement, day=filters.last_day)
        tables["scorecards"] = scorecard_table(dashboard.scorecards)
    return dashboard


# --- scorecards ---------------------------------------------------------------------------------------------


def scorecards_for(*, agreement: Agreement | None, day: date) -> list[Scorecard]:
    if agreement is None:
        return []
    goals = list(SharedGoal.objects.filter(agreement=agreement).select_related("team"))
    return scorecards_build(goals=goals, day=day)


def scorecard_table(cards: list[Scorecard]) -> Table:
    return Table(
        key="scorecards",
        title="Shared goals and scorecards",
        columns=[
            Column("team", "Team"),
            Column("goal", "Goal"),
            Column("weight", "Weight %", "int"),
            Column("target", "Target"),
            Column("period", "Period"),
            Column("value", "Value", "decimal"),
            Column("attainment", "Attainment %", "decimal"),
            Column("score", "Team score %", "decimal"),
        ],
        rows=[
            {
                "team": card.team_name,
                "goal": line.goal.get_metric_display(),
                "weight": line.goal.weight,
                "target": f"{line.goal.get_comparator_display()} {line.goal.target.normalize():f}{line.unit}",
                "period": f"{line.period[0]:%b %Y}" + ("" if line.goal.frequency == "monthly" else " (quarter)"),
                "value": line.result.value,
                "attainment": line.attainment,
                "score": card.score,
            }
            for card in cards
            for line in card.lines
        ],
        definition=(
            "Attainment: the value as a share of the goal (for 'at most' goals, target ÷ value), capped at 100 %. "
            "Team score: attainments weighted by the goals' weights, over the goals that had something to measure."
        ),
        empty="No shared goals are attached to the agreement yet (Django admin → Shared goals).",
    )


# --- the monthly alignment review ---------------------------------------------------------------------------


@dataclass
class ReviewPack:
    review: Review
    kpi_results: list[KpiResult]
    escalations: list[Escalation]
    escalation_counts: list[dict]
    rejections: Table
    data_gaps: Table
    handoffs: dict
    actions: list


def review_pack(review: Review) -> ReviewPack:
    """What the three leads look at in the review: the period's results, misses, escalations, hand-off issues."""
    start, end = day_start(review.period_start), day_start(review.period_end)
    results = list(
        KpiResult.objects.filter(period_start__gte=review.period_start, period_start__lt=review.period_end)
        .select_related("team", "target")
        .order_by("team__name", "metric", "period_start")
    )
    escalations = list(
        Escalation.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            kind__in=[EscalationKind.KPI_MISS, EscalationKind.DATA_INTEGRITY, EscalationKind.PLAN_OVERDUE],
        )
        .select_related("owner")
        .order_by("-created_at")[:50]
    )
    counts = list(
        Escalation.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("team", "kind")
        .annotate(n=Count("pk"), open=Count("pk", filter=Q(status__in=OPEN_ESCALATION)))
        .order_by("team", "kind")
    )
    kinds = dict(EscalationKind.choices)
    for row in counts:
        row["team_label"] = TEAM_LABELS.get(row["team"], row["team"])
        row["kind_label"] = kinds.get(row["kind"], row["kind"])
    handoffs = Handoff.objects.filter(kind=Handoff.Kind.TO_OUTREACH, created_at__gte=start, created_at__lt=end)
    totals = handoffs.aggregate(
        made=Count("pk"),
        incomplete=Count("pk", filter=Q(is_complete=False)),
        rejected=Count("pk", filter=Q(status=Handoff.Status.REJECTED)),
        pending=Count("pk", filter=Q(status=Handoff.Status.PENDING)),
    )
    rejections = (
        handoffs.filter(status=Handoff.Status.REJECTED)
        .values("reject_reason", "lead__source")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    gaps: Counter[str] = Counter()
    for missing in handoffs.filter(is_complete=False).values_list("missing_fields", flat=True):
        gaps.update(missing or [])
    return ReviewPack(
        review=review,
        kpi_results=results,
        escalations=escalations,
        escalation_counts=counts,
        rejections=Table(
            key="review_rejections",
            title="Hand-off rejections",
            columns=[Column("reason", "Reason"), Column("source", "Source"), Column("count", "Count", "int")],
            rows=[
                {
                    "reason": reason_label(Measure.REJECTED, r["reject_reason"]),
                    "source": SOURCE_LABELS.get(r["lead__source"], r["lead__source"]),
                    "count": r["n"],
                }
                for r in rejections
            ],
            empty="No hand-off was rejected in this period.",
        ),
        data_gaps=Table(
            key="review_gaps",
            title="Data gaps in hand-offs",
            columns=[Column("field", "Missing field"), Column("count", "Hand-offs", "int")],
            rows=[{"field": f.replace("_", " "), "count": n} for f, n in gaps.most_common()],
            empty="Every hand-off carried the required fields.",
        ),
        handoffs=totals,
        actions=list(review.actions.select_related("owner").order_by("status", "due_on", "pk")),
    )


# --- the weekly digest ---------------------------------------------------------------------------------------


def digest_numbers(*, dashboard: Dashboard, previous: Dashboard) -> list[dict]:
    """Funnel entries this week against last week."""
    before = {s.key: s.count for s in previous.funnel}
    return [
        {"label": s.label, "count": s.count, "previous": before.get(s.key, 0), "delta": s.count - before.get(s.key, 0)}
        for s in dashboard.funnel
    ]


__all__ = [
    "Dashboard",
    "FunnelStage",
    "KpiRow",
    "ReviewPack",
    "dashboard_build",
    "digest_numbers",
    "hist_quantile",
    "review_pack",
    "scorecards_for",
]
