"""Daily rollups of the funnel: built from the immutable event tables, refreshed incrementally, read by the dashboards.

A day's rows depend only on events that happened that day (plus the first-response clocks stopped that day, which
stop in the same transaction as their hand-off's answer event). Events are never edited, so the refresh only needs
to rebuild the days that new events landed on: it remembers the last event ids it folded in. Days from the last
refresh on are built live by the same code when a dashboard reads them, so the page is current and both paths
agree by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import CharField, F, IntegerField, Max, OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from handoffs.models import Handoff
from leads.models import Lead, LeadEvent, LeadEventKind, LeadState
from onboarding.models import MembershipEvent, MembershipEventKind
from sla.models import BusinessCalendar, Clock, ClockState, Commitment

from .models import DailyRollup, RollupState


class Measure:
    """What a rollup row counts. Durations (minutes) are the time spent in the previous funnel stage."""

    PROSPECT = "prospect"  # lead created
    MQL = "mql"  # qualified; minutes since created (or since recycled, for a re-qualification)
    HANDOFF = "handoff"  # Marketing → Outreach hand-off made; total = touchpoints before hand-off
    HANDOFF_COMPLETE = "handoff_complete"  # … carrying every required field
    SQL = "sql"  # hand-off accepted; minutes since the MQL
    REJECTED = "rejected"  # hand-off rejected; reason = reject reason
    FIRST_RESPONSE = "first_response"  # hand-off answered; business minutes; reason = met / breached
    ATTEMPT = "attempt"  # contact attempt logged
    WON = "won"  # SQL converted to member; minutes since accepted
    SQL_RECYCLED = "sql_recycled"  # SQL returned to nurture; reason = recycle reason
    SQL_LOST = "sql_lost"  # SQL disqualified; reason
    DISQUALIFIED = "disqualified"  # any disqualification (lead-quality feedback); reason
    MEMBER = "member"  # membership signed (with or without a lead)
    ONBOARDED = "onboarded"  # minutes since signing
    ENGAGED = "engaged"  # minutes since onboarded
    RENEWED = "renewed"  # minutes since signing or the previous renewal
    CHURNED = "churned"  # reason = churn reason


LEAD_EVENT_MEASURES = {
    LeadEventKind.CREATED: Measure.PROSPECT,
    LeadEventKind.MQL_QUALIFIED: Measure.MQL,
    LeadEventKind.HANDOFF_ACCEPTED: Measure.SQL,
    LeadEventKind.HANDOFF_REJECTED: Measure.REJECTED,
    LeadEventKind.ATTEMPT_LOGGED: Measure.ATTEMPT,
    LeadEventKind.CONVERTED: Measure.WON,
    LeadEventKind.RECYCLED: Measure.SQL_RECYCLED,
    LeadEventKind.DISQUALIFIED: Measure.DISQUALIFIED,
}
MEMBER_EVENT_MEASURES = {
    MembershipEventKind.SIGNED: Measure.MEMBER,
    MembershipEventKind.ONBOARDED: Measure.ONBOARDED,
    MembershipEventKind.ENGAGED: Measure.ENGAGED,
    MembershipEventKind.RENEWED: Measure.RENEWED,
    MembershipEventKind.CHURNED: Measure.CHURNED,
}
SQL_STATES = (LeadState.SQL, LeadState.WORKING)
BUILD_CHUNK_DAYS = 31

RowKey = tuple[date, str, str, str, str, str]  # day, measure, source, campaign, membership_type, reason


@dataclass
class RollupRow:
    """A rollup row in memory: the same shape whether read from the table or built live."""

    day: date
    measure: str
    source: str = ""
    campaign: str = ""
    membership_type: str = ""
    reason: str = ""
    count: int = 0
    total: Decimal = Decimal(0)
    minutes: dict[str, int] = field(default_factory=dict)

    def add(self, *, minutes: int | None = None, total: Decimal | int | None = None) -> None:
        self.count += 1
        if total is not None:
            self.total += Decimal(total)
        if minutes is not None:
            key = str(max(minutes, 0))
            self.minutes[key] = self.minutes.get(key, 0) + 1


def day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _minutes(later: datetime | None, earlier: datetime | None) -> int | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() / 60)


def _latest_lead_event_at(kinds: Iterable[str]) -> Subquery:
    return Subquery(
        LeadEvent.objects.filter(lead=OuterRef("lead"), kind__in=list(kinds), at__lte=OuterRef("at"))
        .exclude(pk=OuterRef("pk"))
        .order_by("-at", "-pk")
        .values("at")[:1]
    )


def rollup_rows_build(*, since: date, until: date) -> list[RollupRow]:
    """Rows for the days [since, until), computed from the source tables: seven queries whatever the volume."""
    if until <= since:
        return []
    start, end = day_start(since), day_start(until)
    rows: dict[RowKey, RollupRow] = {}

    def row(at: datetime, measure: str, source="", campaign="", membership_type="", reason="") -> RollupRow:
        key = (timezone.localdate(at), measure, source or "", campaign or "", membership_type or "", reason or "")
        if key not in rows:
            rows[key] = RollupRow(*key)
        return rows[key]

    lead_events = (
        LeadEvent.objects.filter(at__gte=start, at__lt=end, kind__in=list(LEAD_EVENT_MEASURES))
        .annotate(
            source=F("lead__source"),
            campaign=F("lead__campaign"),
            stage_entered=_latest_lead_event_at([LeadEventKind.CREATED, LeadEventKind.RECYCLED]),
            mql_at=_latest_lead_event_at([LeadEventKind.MQL_QUALIFIED]),
            sql_at=_latest_lead_event_at([LeadEventKind.HANDOFF_ACCEPTED]),
        )
        .values("kind", "at", "from_state", "reason", "source", "campaign", "stage_entered", "mql_at", "sql_at")
    )
    for e in lead_events:
        measure = LEAD_EVENT_MEASURES[e["kind"]]
        dims = {"source": e["source"], "campaign": e["campaign"]}
        if measure == Measure.MQL:
            row(e["at"], measure, **dims).add(minutes=_minutes(e["at"], e["stage_entered"]))
        elif measure == Measure.SQL:
            row(e["at"], measure, **dims).add(minutes=_minutes(e["at"], e["mql_at"]))
        elif measure == Measure.WON:
            row(e["at"], measure, **dims).add(minutes=_minutes(e["at"], e["sql_at"]))
        elif measure == Measure.SQL_RECYCLED:
            if e["from_state"] in SQL_STATES:
                row(e["at"], measure, reason=e["reason"], **dims).add()
        elif measure == Measure.DISQUALIFIED:
            row(e["at"], measure, reason=e["reason"], **dims).add()
            if e["from_state"] in SQL_STATES:
                row(e["at"], Measure.SQL_LOST, reason=e["reason"], **dims).add()
        elif measure == Measure.REJECTED:
            row(e["at"], measure, reason=e["reason"], **dims).add()
        else:
            row(e["at"], measure, **dims).add()

    handoffs = (
        Handoff.objects.filter(kind=Handoff.Kind.TO_OUTREACH, created_at__gte=start, created_at__lt=end)
        .annotate(
            source=F("lead__source"),
            campaign=F("lead__campaign"),
            touchpoints=Cast(KT("context__touchpoint_count"), IntegerField()),
        )
        .values("created_at", "is_complete", "source", "campaign", "touchpoints")
    )
    for h in handoffs:
        dims = {"source": h["source"], "campaign": h["campaign"]}
        row(h["created_at"], Measure.HANDOFF, **dims).add(total=h["touchpoints"] or 0)
        if h["is_complete"]:
            row(h["created_at"], Measure.HANDOFF_COMPLETE, **dims).add()

    # Business time needs the calendars; there are a handful, so all of them are read (three queries, always).
    calendars = {c.pk: c for c in BusinessCalendar.objects.prefetch_related("working_hours", "holidays")}
    lead_of_clock = Lead.objects.filter(pk=OuterRef("subject_id"))
    clocks = (
        Clock.objects.filter(
            commitment=Commitment.FIRST_RESPONSE,
            state__in=[ClockState.MET, ClockState.BREACHED],
            stopped_at__gte=start,
            stopped_at__lt=end,
        )
        .annotate(
            source=Subquery(lead_of_clock.values("source")[:1], output_field=CharField()),
            campaign=Subquery(lead_of_clock.values("campaign")[:1], output_field=CharField()),
        )
        .values("started_at", "stopped_at", "state", "term__calendar_id", "source", "campaign")
    )
    specs = {}
    for c in clocks:
        key = (c["term__calendar_id"], c["started_at"].year)
        if key not in specs:
            calendar = calendars.get(c["term__calendar_id"])
            specs[key] = calendar.spec(around=c["started_at"]) if calendar else None
        spec = specs[key]
        elapsed = spec.elapsed(c["started_at"], c["stopped_at"]) if spec else c["stopped_at"] - c["started_at"]
        row(c["stopped_at"], Measure.FIRST_RESPONSE, c["source"], c["campaign"], reason=c["state"]).add(
            minutes=round(elapsed.total_seconds() / 60)
        )

    previous_term_at = Subquery(
        MembershipEvent.objects.filter(
            membership=OuterRef("membership"),
            kind__in=[MembershipEventKind.SIGNED, MembershipEventKind.RENEWED],
            at__lte=OuterRef("at"),
        )
        .exclude(pk=OuterRef("pk"))
        .order_by("-at", "-pk")
        .values("at")[:1]
    )
    member_events = (
        MembershipEvent.objects.filter(at__gte=start, at__lt=end, kind__in=list(MEMBER_EVENT_MEASURES))
        .annotate(
            source=F("membership__lead__source"),
            campaign=F("membership__lead__campaign"),
            membership_type=F("membership__membership_type"),
            signed_at=F("membership__signed_at"),
            onboarded_at=F("membership__onboarded_at"),
            previous_term_at=previous_term_at,
        )
        .values(
            "kind", "at", "reason", "source", "campaign", "membership_type", "signed_at", "onboarded_at",
            "previous_term_at",
        )
    )  # fmt: skip
    for e in member_events:
        measure = MEMBER_EVENT_MEASURES[e["kind"]]
        dims = {"source": e["source"], "campaign": e["campaign"], "membership_type": e["membership_type"]}
        if measure == Measure.ONBOARDED:
            row(e["at"], measure, **dims).add(minutes=_minutes(e["at"], e["signed_at"]))
        elif measure == Measure.ENGAGED:
            row(e["at"], measure, **dims).add(minutes=_minutes(e["at"], e["onboarded_at"]))
        elif measure == Measure.RENEWED:
            row(e["at"], measure, **dims).add(minutes=_minutes(e["at"], e["previous_term_at"]))
        elif measure == Measure.CHURNED:
            row(e["at"], measure, reason=e["reason"], **dims).add()
        else:
            row(e["at"], measure, **dims).add()
    return sorted(rows.values(), key=lambda r: (r.day, r.measure, r.source, r.campaign, r.membership_type, r.reason))


def _segment_q(*, source: str = "", campaign: str = "", membership_type: str = "") -> Q:
    q = Q()
    if source:
        q &= Q(source=source)
    if campaign:
        q &= Q(campaign=campaign)
    if membership_type:
        # Lead stages have no membership type: the filter narrows the member stages only.
        q &= Q(membership_type=membership_type) | Q(membership_type="")
    return q


def _matches(row: RollupRow, *, source: str, campaign: str, membership_type: str) -> bool:
    return (
        (not source or row.source == source)
        and (not campaign or row.campaign == campaign)
        and (not membership_type or row.membership_type in ("", membership_type))
    )


@dataclass(frozen=True)
class RollupRead:
    rows: list[RollupRow]
    refreshed_at: datetime | None
    live_from: date | None  # first day built live for this read (None: all from the table)


def rollup_rows_read(
    *, since: date, until: date, source: str = "", campaign: str = "", membership_type: str = ""
) -> RollupRead:
    """Stored rows for the days the refresh has finished, live rows for the rest: nine queries at most."""
    state = RollupState.objects.order_by("pk").first()
    fresh_from = state.fresh_from if state and state.fresh_from else since
    stored_until = min(until, fresh_from)
    rows: list[RollupRow] = []
    if stored_until > since:
        qs = DailyRollup.objects.filter(
            _segment_q(source=source, campaign=campaign, membership_type=membership_type),
            day__gte=since,
            day__lt=stored_until,
        ).values_list("day", "measure", "source", "campaign", "membership_type", "reason", "count", "total", "minutes")
        rows = [RollupRow(*values) for values in qs]
    live_since = max(since, fresh_from)
    if until > live_since:
        rows += [
            r
            for r in rollup_rows_build(since=live_since, until=until)
            if _matches(r, source=source, campaign=campaign, membership_type=membership_type)
        ]
    return RollupRead(
        rows=rows,
        refreshed_at=state.refreshed_at if state else None,
        live_from=live_since if until > live_since else None,
    )


def _runs(days: Iterable[date], *, limit: int = BUILD_CHUNK_DAYS) -> list[tuple[date, date]]:
    """Contiguous [since, until) runs of the given days, at most `limit` days each."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] == day and (day - runs[-1][0]).days < limit:
            runs[-1] = (runs[-1][0], day + timedelta(days=1))
        else:
            runs.append((day, day + timedelta(days=1)))
    return runs


def _event_days(model, after_id: int, before: date) -> tuple[set[date], int]:
    new = model.objects.filter(pk__gt=after_id)
    top = new.aggregate(top=Max("pk"))["top"]
    if top is None:
        return set(), after_id
    days = set(
        new.filter(pk__lte=top, at__lt=day_start(before))
        .annotate(day=TruncDate("at"))
        .values_list("day", flat=True)
        .distinct()
    )
    return days, top


@transaction.atomic
def rollups_refresh(*, now: datetime | None = None) -> int:
    """Fold new events into the stored rollups; returns the number of days rebuilt. Safe to rerun and to run twice.

    Rebuilt: every finished day a new event landed on (late or back-dated ones included), the days that were
    still being read live since the last refresh, and always yesterday (an event whose transaction committed
    just after the previous refresh, with an id below its watermark, is caught by the next run)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    state = RollupState.objects.select_for_update().order_by("pk").first() or RollupState.objects.create()
    lead_days, lead_top = _event_days(LeadEvent, state.lead_event_id, today)
    member_days, member_top = _event_days(MembershipEvent, state.membership_event_id, today)
    dirty = lead_days | member_days | {today - timedelta(days=1)}
    if state.fresh_from:
        dirty |= {state.fresh_from + timedelta(days=n) for n in range((today - state.fresh_from).days)}
    dirty = {d for d in dirty if d < today}
    for since, until in _runs(dirty):
        DailyRollup.objects.filter(day__gte=since, day__lt=until).delete()
        DailyRollup.objects.bulk_create(
            DailyRollup(
                day=r.day,
                measure=r.measure,
                source=r.source,
                campaign=r.campaign,
                membership_type=r.membership_type,
                reason=r.reason,
                count=r.count,
                total=r.total,
                minutes=r.minutes,
            )
            for r in rollup_rows_build(since=since, until=until)
        )
    state.lead_event_id, state.membership_event_id = lead_top, member_top
    state.fresh_from, state.refreshed_at = today, now
    state.save()
    return len(dirty)
