"""Reads for the Marketing screens and the lead detail page.

Every function here costs a fixed number of queries whatever the data size: clocks are joined by
subquery for ordering and fetched once per page for display, never once per row."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from sla.models import Agreement, Clock, ClockState, Commitment, Escalation
from sla_portal.policy import leads_visible

from .models import (
    DisqualifyReason,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadState,
    RecycleReason,
    RejectReason,
    TouchpointKind,
)

# A clock still demanding attention: counting, paused, or breached and not yet stopped by the action.
OPEN_CLOCK_Q = Q(state__in=[ClockState.RUNNING, ClockState.PAUSED]) | Q(
    state=ClockState.BREACHED, stopped_at__isnull=True
)


def subject_q(app_label: str, model: str, prefix: str = "") -> Q:
    """Clocks of one subject type, by join (no ContentType lookup, so the query count never depends on a cache)."""
    return Q(**{f"{prefix}subject_type__app_label": app_label, f"{prefix}subject_type__model": model})


def open_clock_due(*, app_label: str, model: str, commitments: Iterable[str] | None = None) -> Subquery:
    """The earliest due time among a row's counting clocks, to order a queue by time left before breach."""
    clocks = (
        Clock.objects.filter(subject_q(app_label, model), subject_id=OuterRef("pk"))
        .filter(OPEN_CLOCK_Q)
        .exclude(state=ClockState.PAUSED)
    )
    if commitments:
        clocks = clocks.filter(commitment__in=list(commitments))
    return Subquery(clocks.order_by("due_at").values("due_at")[:1])


def most_urgent(clocks: list[Clock]) -> Clock | None:
    counting = [c for c in clocks if c.state != ClockState.PAUSED]
    if counting:
        return min(counting, key=lambda c: c.due_at)
    return clocks[0] if clocks else None


def clocks_attach(rows: Iterable, *, app_label: str, model: str, commitments: Iterable[str] | None = None) -> list:
    """One query for the open clocks of a page of rows: each row gets `.clocks` and `.clock` (most urgent)."""
    rows = list(rows)
    by_subject: dict[int, list[Clock]] = defaultdict(list)
    if rows:
        clocks = Clock.objects.filter(subject_q(app_label, model), subject_id__in=[r.pk for r in rows]).filter(
            OPEN_CLOCK_Q
        )
        if commitments:
            clocks = clocks.filter(commitment__in=list(commitments))
        for clock in clocks.order_by("due_at"):
            by_subject[clock.subject_id].append(clock)
    for row in rows:
        row.clocks = by_subject.get(row.pk, [])
        row.clock = most_urgent(row.clocks)
    return rows


def agreement_in_force() -> Agreement | None:
    """The active version, one query, for thresholds shown beside rows (MQL gaps, required fields)."""
    return Agreement.objects.filter(status=Agreement.Status.ACTIVE).first()


def reason_label(kind_or_state: str, code: str) -> str:
    """Reason codes overlap between lists ('timing'), so the event kind or lead state picks the list."""
    choices = {
        LeadEventKind.HANDOFF_REJECTED: RejectReason,
        LeadState.REJECTED: RejectReason,
        LeadEventKind.RECYCLED: RecycleReason,
        LeadState.RECYCLED: RecycleReason,
        LeadEventKind.DISQUALIFIED: DisqualifyReason,
        LeadState.DISQUALIFIED: DisqualifyReason,
    }.get(kind_or_state)
    if choices is None or not code:
        return code
    return dict(choices.choices).get(code, code)


# --- lists -----------------------------------------------------------------------------------------------


def lead_list(*, user: User) -> QuerySet[Lead]:
    return leads_visible(user).select_related("owner")


def mql_queue(*, user: User) -> QuerySet[Lead]:
    """MQLs waiting for Marketing's hand-off, the nearest 24 h deadline first."""
    return (
        leads_visible(user)
        .filter(state=LeadState.MQL)
        .select_related("owner", "agreement")
        .annotate(handoff_due=open_clock_due(app_label="leads", model="lead", commitments=[Commitment.MQL_HANDOFF]))
        .order_by(F("handoff_due").asc(nulls_last=True), "state_changed_at", "pk")
    )


def feedback_list(*, user: User) -> QuerySet[Lead]:
    """Leads Outreach sent back (rejected) or recycled to nurture: Marketing's feedback loop."""
    last_return = (
        LeadEvent.objects.filter(lead=OuterRef("pk"), kind__in=[LeadEventKind.HANDOFF_REJECTED, LeadEventKind.RECYCLED])
        .order_by("-at", "-pk")
        .values("pk")[:1]
    )
    return (
        leads_visible(user)
        .filter(state__in=[LeadState.REJECTED, LeadState.RECYCLED])
        .select_related("owner", "agreement")
        .annotate(return_event_id=Subquery(last_return))
        .order_by("-state_changed_at", "-pk")
    )


def return_events_attach(rows: Iterable[Lead]) -> list[Lead]:
    """One query: the rejection or recycle event (who, note) behind each feedback row."""
    rows = list(rows)
    ids = [r.return_event_id for r in rows if r.return_event_id]
    events = LeadEvent.objects.select_related("actor").in_bulk(ids) if ids else {}
    for row in rows:
        row.return_event = events.get(row.return_event_id)
        row.reason_text = reason_label(row.state, row.last_reason)
    return rows


def feedback_summary(*, user: User, since: datetime) -> list[dict]:
    """Why leads came back since `since`, by reason code, most frequent first (one aggregate query)."""
    rows = (
        LeadEvent.objects.filter(
            kind__in=[LeadEventKind.HANDOFF_REJECTED, LeadEventKind.RECYCLED],
            at__gte=since,
            lead__in=leads_visible(user).values("pk"),
        )
        .values("kind", "reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "kind", "reason")
    )
    return [
        {
            "kind": r["kind"],
            "verb": "rejected" if r["kind"] == LeadEventKind.HANDOFF_REJECTED else "recycled",
            "reason": r["reason"],
            "label": reason_label(r["kind"], r["reason"]) or "No reason given",
            "n": r["n"],
        }
        for r in rows
    ]


def team_members(kind: str) -> QuerySet[User]:
    return User.objects.filter(team__kind=kind, is_active=True).order_by("first_name", "last_name", "username")


# --- the lead detail page ----------------------------------------------------------------------------------


def lead_get(*, pk: int) -> Lead | None:
    return Lead.objects.select_related("owner", "agreement").filter(pk=pk).first()


def lead_timeline(*, lead: Lead, now: datetime | None = None) -> dict:
    """Everything that happened to a lead, in one place: a fixed 7 queries whatever its history."""
    now = now or timezone.now()
    events = list(lead.events.select_related("actor").order_by("at", "pk"))
    touchpoints = list(lead.touchpoints.order_by("-at", "-pk"))
    handoffs = list(lead.handoffs.select_related("from_user", "to_user", "decided_by").order_by("created_at", "pk"))
    attempts = list(lead.attempts.select_related("by").order_by("-at", "-pk"))
    clocks = list(
        Clock.objects.filter(subject_q("leads", "lead"), subject_id=lead.pk)
        .select_related("owner")
        .order_by("started_at", "pk")
    )
    escalations = list(
        Escalation.objects.filter(subject_q("leads", "lead", prefix="clock__"), clock__subject_id=lead.pk)
        .select_related("owner", "clock")
        .order_by("created_at", "pk")
    )
    membership = lead.membership if lead.state == LeadState.CONVERTED and _has_membership(lead) else None

    handoffs_by_pk = {h.pk: h for h in handoffs}
    attempts_by_pk = {a.pk: a for a in attempts}
    touch_labels = dict(TouchpointKind.choices)
    entries = []
    for event in events:
        entry = {
            "at": event.at,
            "cat": _event_category(event.kind),
            "title": event.get_kind_display(),
            "actor": event.actor,
            "from": event.get_from_state_display() if event.from_state else "",
            "to": event.get_to_state_display() if event.to_state and event.from_state else "",
            "reason": reason_label(event.kind, event.reason),
            "note": event.note,
            "details": [],
        }
        data = event.data or {}
        if event.kind == LeadEventKind.TOUCHPOINT:
            entry["title"] = touch_labels.get(data.get("kind"), "Touchpoint")
            entry["details"].append(f"+{data.get('points', 0)} points")
            if data.get("campaign"):
                entry["details"].append(data["campaign"])
        elif event.kind == LeadEventKind.MQL_QUALIFIED:
            entry["details"].append(f"score {data.get('score')}, {data.get('touchpoints')} touchpoints")
        elif event.kind == LeadEventKind.ATTEMPT_LOGGED and data.get("attempt") in attempts_by_pk:
            attempt = attempts_by_pk[data["attempt"]]
            entry["details"].append(f"{attempt.get_channel_display()} · {attempt.get_outcome_display()}")
        elif event.kind in {LeadEventKind.HANDOFF_CREATED, LeadEventKind.HANDOFF_ACCEPTED} and data.get("handoff"):
            handoff = handoffs_by_pk.get(data["handoff"])
            if handoff and event.kind == LeadEventKind.HANDOFF_CREATED:
                entry["details"].append(f"to {handoff.to_user or 'the Outreach team'}")
                if handoff.missing_fields:
                    entry["details"].append(
                        "missing: " + ", ".join(f.replace("_", " ") for f in handoff.missing_fields)
                    )
        entries.append(entry)
    entries += clock_entries(clocks, escalations)
    entries.sort(key=lambda e: e["at"])
    return {
        "entries": entries,
        "events": events,
        "touchpoints": touchpoints,
        "handoffs": handoffs,
        "attempts": attempts,
        "clocks": clocks,
        "open_clocks": [c for c in clocks if still_open(c)],
        "escalations": escalations,
        "membership": membership,
        "pending_handoff": next(
            (h for h in reversed(handoffs) if h.status == "pending" and h.kind == "to_outreach"), None
        ),
    }


def still_open(clock: Clock) -> bool:
    return clock.is_open or (clock.state == ClockState.BREACHED and clock.stopped_at is None)


def clock_entries(clocks: list[Clock], escalations: list[Escalation]) -> list[dict]:
    """Timeline lines for a subject's clocks (started, met or missed) and the escalations they raised."""
    entries = []
    for clock in clocks:
        if clock.commitment == Commitment.CRM_UPDATE and clock.state != ClockState.BREACHED:
            continue  # one per logged action: only a late CRM update is worth a line in the story
        label = clock.get_commitment_display()
        due = f"due {timezone.localtime(clock.due_at):%d %b %H:%M}"
        entries.append({"at": clock.started_at, "cat": "clock", "title": f"Clock started: {label}", "details": [due]})
        if clock.stopped_at and clock.state in {ClockState.MET, ClockState.BREACHED}:
            met = clock.state == ClockState.MET
            verdict = f"{label}: {'met' if met else 'missed'}"
            entries.append({"at": clock.stopped_at, "cat": "ok" if met else "bad", "title": verdict})
        elif clock.state == ClockState.BREACHED and clock.breached_at:
            entries.append(
                {
                    "at": clock.breached_at,
                    "cat": "bad",
                    "title": f"Deadline missed: {label}",
                    "details": ["still waiting for the action"],
                }
            )
    for escalation in escalations:
        entries.append(
            {
                "at": escalation.created_at,
                "cat": "escalation",
                "title": escalation.title,
                "details": [escalation.get_kind_display(), f"owner: {escalation.owner or 'unassigned'}"],
                "escalation": escalation,
            }
        )
    return entries


def _has_membership(lead: Lead) -> bool:
    try:
        lead.membership  # noqa: B018 - the reverse one-to-one fetch is the check
    except type(lead).membership.RelatedObjectDoesNotExist:
        return False
    return True


def _event_category(kind: str) -> str:
    return {
        LeadEventKind.TOUCHPOINT: "touch",
        LeadEventKind.MQL_QUALIFIED: "ok",
        LeadEventKind.HANDOFF_CREATED: "handoff",
        LeadEventKind.HANDOFF_ACCEPTED: "ok",
        LeadEventKind.HANDOFF_REJECTED: "bad",
        LeadEventKind.ATTEMPT_LOGGED: "attempt",
        LeadEventKind.CONVERTED: "ok",
        LeadEventKind.RECYCLED: "warn",
        LeadEventKind.DISQUALIFIED: "bad",
    }.get(kind, "info")
