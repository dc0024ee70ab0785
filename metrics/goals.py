"""Shared goals: the value of a goal's metric for a period, and a team's weighted scorecard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sla.models import KpiMetric

from . import measures
from .kpis import KPI_DEFINITIONS, KpiValue, kpi_compute, kpi_unit
from .models import GoalMetric, SharedGoal
from .periods import kpi_period
from .rollups import day_start

_EXTRA = {
    GoalMetric.MEMBER_SIGNUPS: measures.member_signups,
    GoalMetric.HANDOFF_TO_MEMBER: measures.handoff_to_member,
    GoalMetric.ENGAGED_WITHIN_WINDOW: measures.engaged_within_window,
    GoalMetric.UPSELL_RATE: measures.upsell_rate,
    GoalMetric.NPS: measures.nps,
}

GOAL_DEFINITIONS: dict[str, str] = {
    **KPI_DEFINITIONS,
    **{metric: measures.MEASURE_DEFINITIONS[metric] for metric in _EXTRA},
}
GOAL_UNITS = {GoalMetric.MEMBER_SIGNUPS: "", GoalMetric.NPS: ""}


def goal_unit(metric: str) -> str:
    return GOAL_UNITS.get(metric, kpi_unit(metric))


def goal_compute(metric: str, *, start: datetime, end: datetime) -> KpiValue:
    if metric in KpiMetric.values:
        return kpi_compute(metric, start=start, end=end)
    try:
        return _EXTRA[metric](start=start, end=end)
    except KeyError:
        raise ValueError(f"Unknown goal metric {metric!r}") from None


@dataclass(frozen=True)
class GoalLine:
    goal: SharedGoal
    period: tuple[date, date]
    result: KpiValue
    attainment: Decimal | None
    definition: str
    unit: str

    @property
    def met(self) -> bool | None:
        if self.result.value is None:
            return None
        return self.attainment is not None and self.attainment >= 100


@dataclass(frozen=True)
class Scorecard:
    team_name: str
    team_kind: str
    lines: list[GoalLine]

    @property
    def weight_total(self) -> int:
        return sum(line.goal.weight for line in self.lines)

    @property
    def measured_weight(self) -> int:
        return sum(line.goal.weight for line in self.lines if line.attainment is not None)

    @property
    def score(self) -> Decimal | None:
        """Weighted attainment over the goals that had something to measure; goals without data do not count."""
        measured = self.measured_weight
        if not measured:
            return None
        points = sum(line.attainment * line.goal.weight for line in self.lines if line.attainment is not None)
        return (points / measured).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def scorecards_build(*, goals: list[SharedGoal], day: date) -> list[Scorecard]:
    """One scorecard per team, each goal measured over its own period (month or quarter) containing `day`.

    Goals that share a metric and period are computed once."""
    cache: dict[tuple[str, date, date], KpiValue] = {}
    by_team: dict[int, list[GoalLine]] = {}
    teams = {}
    for goal in goals:
        period = kpi_period(goal.frequency, day)
        key = (goal.metric, *period)
        if key not in cache:
            cache[key] = goal_compute(goal.metric, start=day_start(period[0]), end=day_start(period[1]))
        result = cache[key]
        teams[goal.team_id] = goal.team
        by_team.setdefault(goal.team_id, []).append(
            GoalLine(
                goal=goal,
                period=period,
                result=result,
                attainment=goal.attainment(result.value),
                definition=GOAL_DEFINITIONS.get(goal.metric, ""),
                unit=goal_unit(goal.metric),
            )
        )
    return [
        Scorecard(team_name=teams[pk].name, team_kind=teams[pk].kind, lines=lines)
        for pk, lines in sorted(by_team.items(), key=lambda item: teams[item[0]].name)
    ]
