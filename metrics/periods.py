"""Reporting periods and the dashboard's filters, parsed once from the query string."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from django.http import QueryDict
from django.utils import timezone

from accounts.models import TeamKind
from leads.models import LeadSource
from onboarding.models import MembershipType
from sla.models import ReviewFrequency

from .rollups import day_start

PERIOD_CHOICES = [
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("this_quarter", "This quarter"),
    ("last_quarter", "Last quarter"),
    ("last_90", "Last 90 days"),
    ("last_365", "Last 12 months"),
    ("ytd", "Year to date"),
    ("custom", "Custom dates"),
]
DASHBOARD_TEAMS = [TeamKind.MARKETING, TeamKind.OUTREACH, TeamKind.MEMBER_SUCCESS]


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def kpi_period(frequency: str, day: date) -> tuple[date, date]:
    """The KPI period (month or quarter) that contains `day`, as [start, end) dates."""
    if frequency == ReviewFrequency.QUARTERLY:
        start = quarter_start(day)
        return start, add_months(start, 3)
    start = month_start(day)
    return start, add_months(start, 1)


def preset_range(preset: str, today: date) -> tuple[date, date]:
    tomorrow = today + timedelta(days=1)
    if preset == "last_month":
        end = month_start(today)
        return add_months(end, -1), end
    if preset == "this_quarter":
        return quarter_start(today), tomorrow
    if preset == "last_quarter":
        end = quarter_start(today)
        return add_months(end, -3), end
    if preset == "last_90":
        return tomorrow - timedelta(days=90), tomorrow
    if preset == "last_365":
        return tomorrow - timedelta(days=365), tomorrow
    if preset == "ytd":
        return date(today.year, 1, 1), tomorrow
    return month_start(today), tomorrow


@dataclass(frozen=True)
class Filters:
    """What the dashboard shows: the days [start, end), a team's view, and a segment of the funnel."""

    period: str
    start: date
    end: date  # exclusive
    team: str = ""
    source: str = ""
    campaign: str = ""
    membership_type: str = ""
    errors: tuple[str, ...] = ()

    @property
    def start_at(self) -> datetime:
        return day_start(self.start)

    @property
    def end_at(self) -> datetime:
        return day_start(self.end)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def label(self) -> str:
        if self.last_day == self.start:
            return f"{self.start:%d %b %Y}"
        return f"{self.start:%d %b %Y} – {self.last_day:%d %b %Y}"

    @property
    def segment_label(self) -> str:
        parts = []
        if self.source:
            parts.append(LeadSource(self.source).label)
        if self.campaign:
            parts.append(f"campaign “{self.campaign}”")
        if self.membership_type:
            parts.append(f"{MembershipType(self.membership_type).label} members")
        return ", ".join(parts)

    def with_team(self, team: str) -> Filters:
        return replace(self, team=team)

    def querystring(self, **override) -> str:
        params = {
            "period": self.period,
            "team": self.team,
            "source": self.source,
            "campaign": self.campaign,
            "membership_type": self.membership_type,
        }
        if self.period == "custom":
            params.update({"from": self.start.isoformat(), "to": self.last_day.isoformat()})
        params.update(override)
        query = QueryDict(mutable=True)
        for key, value in params.items():
            if value:
                query[key] = value
        return query.urlencode()


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


MAX_DAYS = 3 * 366


def filters_from_query(params, *, today: date | None = None, team: str = "") -> Filters:
    """Read the filters from a GET query; anything unknown falls back to a default with a message, never a 500."""
    today = today or timezone.localdate()
    errors = []
    period = params.get("period") or "this_month"
    if period not in dict(PERIOD_CHOICES):
        errors.append(f"Unknown period {period!r}; showing this month.")
        period = "this_month"
    if period == "custom":
        first, last = _parse_date(params.get("from", "")), _parse_date(params.get("to", ""))
        if first is None or last is None or last < first:
            errors.append("Give a custom period as two dates, the second not before the first; showing this month.")
            period, (start, end) = "this_month", preset_range("this_month", today)
        elif (last - first).days >= MAX_DAYS:
            errors.append("Custom periods are limited to three years; showing the last three years of it.")
            start, end = last + timedelta(days=1) - timedelta(days=MAX_DAYS), last + timedelta(days=1)
        else:
            start, end = first, last + timedelta(days=1)
    else:
        start, end = preset_range(period, today)
    team = team or params.get("team", "")
    if team and team not in DASHBOARD_TEAMS:
        errors.append(f"Unknown team {team!r}; showing every team.")
        team = ""
    source = params.get("source", "")
    if source and source not in LeadSource.values:
        errors.append(f"Unknown source {source!r}; showing every source.")
        source = ""
    membership_type = params.get("membership_type", "")
    if membership_type and membership_type not in MembershipType.values:
        errors.append(f"Unknown membership type {membership_type!r}; showing every type.")
        membership_type = ""
    campaign = (params.get("campaign") or "").strip()[:120]
    return Filters(
        period=period,
        start=start,
        end=end,
        team=team,
        source=source,
        campaign=campaign,
        membership_type=membership_type,
        errors=tuple(errors),
    )
