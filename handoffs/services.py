"""Writes for the Marketing → Outreach hand-off and Outreach's work on it: accept, reject, contact attempts."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Team, TeamKind, User
from leads.models import Lead, LeadEventKind, LeadState, RejectReason
from leads.services import lead_event_record, lead_lock, lead_transition
from sla.clocks import clock_progress, clock_start, clock_stop, crm_update_record
from sla.models import Commitment
from sla.services import agreement_active
from sla_portal.errors import DomainError, InvalidInput, InvalidTransition

from .models import ContactAttempt, Handoff

HANDOFF_READY_STATES = frozenset({LeadState.MQL, LeadState.REJECTED})
OUTREACH_WORKING_STATES = frozenset({LeadState.SQL, LeadState.WORKING})


def handoff_missing_fields(*, lead: Lead, required: list[str]) -> list[str]:
    """Required lead fields that are empty: what makes a hand-off incomplete."""
    return [field for field in required if not str(getattr(lead, field, "") or "").strip()]


def handoff_context(*, lead: Lead) -> dict:
    """What travels with the lead: score, engagement history and interest, as it was at hand-off time."""
    touchpoints = list(lead.touchpoints.order_by("-at").values("kind", "at", "points", "campaign")[:20])
    return {
        "score": lead.score,
        "fit_score": lead.fit_score,
        "intent_score": lead.intent_score,
        "imp_fit": lead.imp_fit,
        "touchpoint_count": lead.touchpoint_count,
        "engagement": [{**t, "at": t["at"].isoformat()} for t in touchpoints],
        "interest": lead.interest,
        "source": lead.source,
        "campaign": lead.campaign,
    }


def handoffs_paused_reason(team_kind: str) -> str:
    team = Team.objects.filter(kind=team_kind, handoffs_paused=True).first()
    if team is None:
        return ""
    return team.handoffs_paused_reason or f"Hand-offs from {team} are paused until a remediation plan is accepted."


@transaction.atomic
def handoff_create(
    *, lead: Lead, by: User | None, to_user: User | None = None, note: str = "", at: datetime | None = None
) -> Handoff:
    """Marketing hands an MQL (or a fixed rejected lead) to Outreach, recording how complete its data is."""
    paused = handoffs_paused_reason(TeamKind.MARKETING)
    if paused:
        raise DomainError(paused, code="handoffs_paused")
    if to_user is not None and (to_user.team is None or to_user.team.kind != TeamKind.OUTREACH):
        raise InvalidInput({"to_user": f"{to_user} is not in Outreach."})
    lead = lead_lock(lead)
    if lead.state not in HANDOFF_READY_STATES:
        raise InvalidTransition(
            lead,
            from_state=lead.state,
            to_state=LeadState.HANDED_OFF,
            why="only MQLs and rejected leads can be handed off",
        )
    at = at or timezone.now()
    agreement = lead.agreement or agreement_active()
    required = list(agreement.required_handoff_fields)
    missing = handoff_missing_fields(lead=lead, required=required)
    handoff = Handoff.objects.create(
        kind=Handoff.Kind.TO_OUTREACH,
        lead=lead,
        from_team=TeamKind.MARKETING,
        to_team=TeamKind.OUTREACH,
        from_user=by,
        to_user=to_user,
        agreement=agreement,
        created_at=at,
        note=note,
        required_fields=required,
        missing_fields=missing,
        is_complete=not missing,
        context=handoff_context(lead=lead),
    )
    lead_transition(
        lead=lead,
        to=LeadState.HANDED_OFF,
        kind=LeadEventKind.HANDOFF_CREATED,
        by=by,
        at=at,
        note=note,
        owner=to_user,
        data={"handoff": handoff.pk, "missing_fields": missing},
    )
    clock_stop(subject=lead, commitment=Commitment.MQL_HANDOFF, at=at)
    clock_start(subject=lead, commitment=Commitment.FIRST_RESPONSE, agreement=agreement, at=at, owner=to_user)
    return handoff


def _pending_handoff(handoff: Handoff) -> tuple[Handoff, Lead]:
    handoff = Handoff.objects.select_for_update().get(pk=handoff.pk)
    lead = lead_lock(handoff.lead_id)
    if handoff.kind != Handoff.Kind.TO_OUTREACH or handoff.status != Handoff.Status.PENDING:
        raise InvalidTransition(
            handoff, from_state=handoff.status, to_state="decided", why="this hand-off has already been answered"
        )
    return handoff, lead


@transaction.atomic
def handoff_accept(*, handoff: Handoff, by: User | None, at: datetime | None = None) -> Handoff:
    """Outreach accepts the lead as an SQL; its follow-up and decision clocks start."""
    handoff, lead = _pending_handoff(handoff)
    at = at or timezone.now()
    handoff.status = Handoff.Status.ACCEPTED
    handoff.decided_at = at
    handoff.decided_by = by
    handoff.save(update_fields=["status", "decided_at", "decided_by"])
    owner = lead.owner or by
    lead_transition(
        lead=lead,
        to=LeadState.SQL,
        kind=LeadEventKind.HANDOFF_ACCEPTED,
        by=by,
        at=at,
        owner=owner,
        data={"handoff": handoff.pk},
    )
    clock_stop(subject=lead, commitment=Commitment.FIRST_RESPONSE, at=at)
    for commitment in (Commitment.FOLLOW_UP, Commitment.DECISION):
        clock_start(subject=lead, commitment=commitment, agreement=handoff.agreement, at=at, owner=owner)
    return handoff


@transaction.atomic
def handoff_reject(
    *, handoff: Handoff, by: User | None, reason: str, note: str = "", at: datetime | None = None
) -> Handoff:
    """Outreach returns the lead to Marketing with a coded reason: the feedback loop."""
    if reason not in RejectReason.values:
        raise InvalidInput({"reason": "Choose why the lead is rejected."})
    if reason == RejectReason.OTHER and not note.strip():
        raise InvalidInput({"note": "Say why, when the reason is 'Other'."})
    handoff, lead = _pending_handoff(handoff)
    at = at or timezone.now()
    handoff.status = Handoff.Status.REJECTED
    handoff.decided_at = at
    handoff.decided_by = by
    handoff.reject_reason = reason
    handoff.save(update_fields=["status", "decided_at", "decided_by", "reject_reason"])
    lead_transition(
        lead=lead,
        to=LeadState.REJECTED,
        kind=LeadEventKind.HANDOFF_REJECTED,
        by=by,
        at=at,
        reason=reason,
        note=note,
        owner=handoff.from_user,
        data={"handoff": handoff.pk},
    )
    clock_stop(subject=lead, commitment=Commitment.FIRST_RESPONSE, at=at)
    return handoff


@transaction.atomic
def attempt_log(
    *, lead: Lead, by: User | None, channel: str, outcome: str, note: str = "", at: datetime | None = None
) -> ContactAttempt:
    """One contact attempt on an SQL; counts towards the follow-up commitment."""
    errors = {}
    if channel not in ContactAttempt.Channel.values:
        errors["channel"] = "Choose a channel."
    if outcome not in ContactAttempt.Outcome.values:
        errors["outcome"] = "Choose an outcome."
    now = timezone.now()
    at = at or now
    if at > now:
        errors["at"] = "An attempt cannot be in the future."
    if errors:
        raise InvalidInput(errors)
    lead = lead_lock(lead)
    if lead.state not in OUTREACH_WORKING_STATES:
        raise InvalidTransition(
            lead, from_state=lead.state, to_state=LeadState.WORKING, why="contact attempts are logged on accepted SQLs"
        )
    attempt = ContactAttempt.objects.create(lead=lead, by=by, at=at, channel=channel, outcome=outcome, note=note)
    data = {"attempt": attempt.pk, "channel": channel, "outcome": outcome}
    if lead.state == LeadState.SQL:
        lead_transition(
            lead=lead, to=LeadState.WORKING, kind=LeadEventKind.ATTEMPT_LOGGED, by=by, at=at, note=note, data=data
        )
    else:
        lead_event_record(lead=lead, kind=LeadEventKind.ATTEMPT_LOGGED, by=by, at=at, note=note, data=data)
    clock_progress(subject=lead, commitment=Commitment.FOLLOW_UP, at=at)
    crm_update_record(subject=lead, agreement=lead.agreement, action_at=at, recorded_at=now, owner=by)
    return attempt
