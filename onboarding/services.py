"""Writes for members: conversion from an SQL (with the Outreach → Member Success hand-off), onboarding,
engagement, renewal eligibility, renewal and churn."""

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import TeamKind, User
from handoffs.models import Handoff
from handoffs.services import OUTREACH_WORKING_STATES
from leads.models import Lead, LeadEventKind, LeadState
from leads.services import lead_lock, lead_transition
from sla.clocks import clock_cancel, clock_start, clock_stop, crm_update_record
from sla.models import Agreement, Commitment
from sla.services import agreement_active
from sla_portal.errors import DomainError, InvalidInput, InvalidTransition

from .models import (
    ENGAGEMENT_POINTS,
    MEMBER_TRANSITIONS,
    ChurnReason,
    EngagementActivity,
    EngagementKind,
    Membership,
    MembershipEvent,
    MembershipEventKind,
    MembershipType,
    MemberState,
    OnboardingStep,
    OnboardingTask,
)


def membership_lock(membership: Membership | int) -> Membership:
    return Membership.objects.select_for_update().get(pk=getattr(membership, "pk", membership))


def membership_event_record(
    *,
    membership: Membership,
    kind: str,
    by: User | None,
    at: datetime,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    note: str = "",
    data: dict | None = None,
) -> MembershipEvent:
    return MembershipEvent.objects.create(
        membership=membership,
        kind=kind,
        actor=by,
        at=at,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        note=note,
        data=data or {},
        agreement=membership.agreement,
    )


def membership_transition(
    *,
    membership: Membership,
    to: str,
    kind: str,
    by: User | None,
    at: datetime | None = None,
    reason: str = "",
    note: str = "",
    data: dict | None = None,
) -> MembershipEvent:
    if to not in MEMBER_TRANSITIONS[membership.state]:
        raise InvalidTransition(membership, from_state=membership.state, to_state=to)
    at = at or timezone.now()
    from_state = membership.state
    membership.state = to
    membership.state_changed_at = at
    membership.save(update_fields=["state", "state_changed_at", "updated_at"])
    return membership_event_record(
        membership=membership,
        kind=kind,
        by=by,
        at=at,
        from_state=from_state,
        to_state=to,
        reason=reason,
        note=note,
        data=data,
    )


def _clean_contract(*, membership_type: str, contract_value, term_start: date, term_end: date) -> Decimal:
    errors = {}
    if membership_type not in MembershipType.values:
        errors["membership_type"] = "Choose a membership type."
    try:
        value = Decimal(str(contract_value))
        if value < 0 or not value.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        errors["contract_value"] = "Enter a contract value of zero or more."
        value = Decimal(0)
    if not term_start:
        errors["term_start"] = "A term start date is required."
    if not term_end:
        errors["term_end"] = "A term end date is required."
    elif term_start and term_end <= term_start:
        errors["term_end"] = "The term must end after it starts."
    if errors:
        raise InvalidInput(errors)
    return value


def _membership_open(*, membership: Membership, by: User | None, at: datetime) -> Membership:
    """Signed: the onboarding checklist exists and Member Success's clocks start."""
    OnboardingTask.objects.bulk_create(OnboardingTask(membership=membership, step=s) for s in OnboardingStep.values)
    membership_event_record(
        membership=membership,
        kind=MembershipEventKind.SIGNED,
        by=by,
        at=at,
        to_state=MemberState.SIGNED,
        data={"type": membership.membership_type, "value": str(membership.contract_value)},
    )
    for commitment in (Commitment.ONBOARDING_START, Commitment.WELCOME):
        clock_start(
            subject=membership, commitment=commitment, agreement=membership.agreement, at=at, owner=membership.owner
        )
    return membership


@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    by: User | None,
    membership_type: str,
    contract_value,
    term_start: date,
    term_end: date,
    notes: str = "",
    owner: User | None = None,
    at: datetime | None = None,
) -> Membership:
    """Outreach signs the member and hands full context to Member Success in one step."""
    value = _clean_contract(
        membership_type=membership_type, contract_value=contract_value, term_start=term_start, term_end=term_end
    )
    if owner is not None and (owner.team is None or owner.team.kind != TeamKind.MEMBER_SUCCESS):
        raise InvalidInput({"owner": f"{owner} is not in Member Success."})
    lead = lead_lock(lead)
    if lead.state not in OUTREACH_WORKING_STATES:
        raise InvalidTransition(
            lead, from_state=lead.state, to_state=LeadState.CONVERTED, why="only accepted SQLs can be converted"
        )
    at = at or timezone.now()
    agreement = lead.agreement or agreement_active()
    contract = {
        "membership_type": membership_type,
        "contract_value": str(value),
        "term_start": term_start.isoformat(),
        "term_end": term_end.isoformat(),
        "contacts": [{"name": lead.full_name, "email": lead.email, "phone": lead.phone, "title": lead.job_title}],
        "notes": notes,
    }
    handoff = Handoff.objects.create(
        kind=Handoff.Kind.TO_MEMBER_SUCCESS,
        lead=lead,
        from_team=TeamKind.OUTREACH,
        to_team=TeamKind.MEMBER_SUCCESS,
        from_user=by,
        to_user=owner,
        agreement=agreement,
        created_at=at,
        status=Handoff.Status.ACCEPTED,
        decided_at=at,
        note=notes,
        required_fields=[],
        context=contract,
    )
    membership = Membership.objects.create(
        lead=lead,
        handoff=handoff,
        organisation=lead.organisation or lead.full_name,
        contact_name=lead.full_name,
        email=lead.email,
        phone=lead.phone,
        membership_type=membership_type,
        contract_value=value,
        term_start=term_start,
        term_end=term_end,
        notes=notes,
        state=MemberState.SIGNED,
        state_changed_at=at,
        signed_at=at,
        owner=owner,
        agreement=agreement,
    )
    lead_transition(
        lead=lead,
        to=LeadState.CONVERTED,
        kind=LeadEventKind.CONVERTED,
        by=by,
        at=at,
        note=notes,
        data={"membership": membership.pk, "handoff": handoff.pk, "type": membership_type},
    )
    clock_stop(subject=lead, commitment=Commitment.DECISION, at=at)
    clock_cancel(subject=lead, at=at, note="converted")
    return _membership_open(membership=membership, by=by, at=at)


@transaction.atomic
def membership_sign(
    *,
    by: User | None,
    organisation: str,
    contact_name: str,
    email: str,
    membership_type: str,
    contract_value,
    term_start: date,
    term_end: date,
    phone: str = "",
    notes: str = "",
    owner: User | None = None,
    at: datetime | None = None,
) -> Membership:
    """A member who joined without a lead (renewing paper member, walk-in): starts at signed."""
    value = _clean_contract(
        membership_type=membership_type, contract_value=contract_value, term_start=term_start, term_end=term_end
    )
    if not organisation.strip() or not email.strip():
        raise InvalidInput({"organisation" if not organisation.strip() else "email": "This field is required."})
    at = at or timezone.now()
    membership = Membership.objects.create(
        organisation=organisation,
        contact_name=contact_name,
        email=email,
        phone=phone,
        membership_type=membership_type,
        contract_value=value,
        term_start=term_start,
        term_end=term_end,
        notes=notes,
        state=MemberState.SIGNED,
        state_changed_at=at,
        signed_at=at,
        owner=owner,
        agreement=agreement_active(),
    )
    return _membership_open(membership=membership, by=by, at=at)


def _start_onboarding(*, membership: Membership, by: User | None, at: datetime) -> None:
    membership.onboarding_started_at = at
    membership.save(update_fields=["onboarding_started_at"])
    membership_transition(
        membership=membership, to=MemberState.ONBOARDING, kind=MembershipEventKind.ONBOARDING_STARTED, by=by, at=at
    )
    clock_stop(subject=membership, commitment=Commitment.ONBOARDING_START, at=at)


@transaction.atomic
def onboarding_start(*, membership: Membership, by: User | None, at: datetime | None = None) -> Membership:
    membership = membership_lock(membership)
    if membership.state != MemberState.SIGNED:
        raise InvalidTransition(membership, from_state=membership.state, to_state=MemberState.ONBOARDING)
    _start_onboarding(membership=membership, by=by, at=at or timezone.now())
    return membership


@transaction.atomic
def onboarding_task_complete(
    *, membership: Membership, step: str, by: User | None, at: datetime | None = None
) -> OnboardingTask:
    """Tick a checklist step. The first step starts onboarding; the welcome step makes the member onboarded."""
    if step not in OnboardingStep.values:
        raise InvalidInput({"step": f"Unknown onboarding step {step!r}."})
    membership = membership_lock(membership)
    if membership.state not in {MemberState.SIGNED, MemberState.ONBOARDING}:
        raise InvalidTransition(
            membership,
            from_state=membership.state,
            to_state=MemberState.ONBOARDED,
            why="onboarding is already finished",
        )
    task = OnboardingTask.objects.select_for_update().get(membership=membership, step=step)
    if task.done_at is not None:
        raise DomainError(f"'{task.get_step_display()}' was already done on {task.done_at:%Y-%m-%d}.", code="conflict")
    at = at or timezone.now()
    if membership.state == MemberState.SIGNED:
        _start_onboarding(membership=membership, by=by, at=at)
    task.done_at = at
    task.done_by = by
    task.save(update_fields=["done_at", "done_by"])
    crm_update_record(
        subject=membership,
        agreement=membership.agreement,
        action_at=at,
        recorded_at=timezone.now(),
        owner=by,
        team=TeamKind.MEMBER_SUCCESS,
    )
    membership_event_record(
        membership=membership, kind=MembershipEventKind.TASK_DONE, by=by, at=at, data={"step": step}
    )
    if step == OnboardingStep.WELCOME:
        clock_stop(subject=membership, commitment=Commitment.WELCOME, at=at)
        membership.onboarded_at = at
        membership.save(update_fields=["onboarded_at"])
        membership_transition(
            membership=membership, to=MemberState.ONBOARDED, kind=MembershipEventKind.ONBOARDED, by=by, at=at
        )
        _maybe_engaged(membership=membership, by=by, at=at)
    return task


def engagement_in_window(*, membership: Membership, agreement: Agreement) -> int:
    """Points earned within the agreement's engagement window after signing."""
    until = membership.signed_at + timedelta(days=agreement.engagement_window_days)
    return membership.activities.filter(at__lte=until).aggregate(p=Sum("points"))["p"] or 0


def _maybe_engaged(*, membership: Membership, by: User | None, at: datetime) -> None:
    if membership.state != MemberState.ONBOARDED:
        return
    if (
        engagement_in_window(membership=membership, agreement=membership.agreement)
        >= membership.agreement.engaged_threshold
    ):
        membership.engaged_at = at
        membership.save(update_fields=["engaged_at"])
        membership_transition(
            membership=membership,
            to=MemberState.ENGAGED,
            kind=MembershipEventKind.ENGAGED,
            by=by,
            at=at,
            data={"score": membership.engagement_score},
        )


@transaction.atomic
def engagement_record(
    *,
    membership: Membership,
    kind: str,
    by: User | None = None,
    at: datetime | None = None,
    points: int | None = None,
    detail: str = "",
) -> EngagementActivity:
    if kind not in EngagementKind.values:
        raise InvalidInput({"kind": f"Unknown engagement kind {kind!r}."})
    if points is not None and points < 0:
        raise InvalidInput({"points": "Points cannot be negative."})
    membership = membership_lock(membership)
    if membership.state == MemberState.CHURNED:
        raise DomainError("This member has churned; engagement is no longer recorded.")
    at = at or timezone.now()
    activity = EngagementActivity.objects.create(
        membership=membership,
        kind=kind,
        at=at,
        points=ENGAGEMENT_POINTS[kind] if points is None else points,
        detail=detail,
    )
    membership.engagement_score += activity.points
    membership.save(update_fields=["engagement_score", "updated_at"])
    membership_event_record(
        membership=membership,
        kind=MembershipEventKind.ENGAGEMENT,
        by=by,
        at=at,
        data={"kind": kind, "points": activity.points},
    )
    _maybe_engaged(membership=membership, by=by, at=at)
    return activity


def renewal_gaps(*, membership: Membership, today: date) -> list[str]:
    agreement = membership.agreement
    gaps = []
    if (membership.term_end - today).days > agreement.renewal_window_days:
        gaps.append(f"term ends {membership.term_end}, more than {agreement.renewal_window_days} days away")
    if membership.engagement_score < agreement.renewal_min_engagement:
        gaps.append(f"engagement {membership.engagement_score} below {agreement.renewal_min_engagement}")
    return gaps


RENEWAL_CANDIDATE_STATES = frozenset({MemberState.ONBOARDED, MemberState.ENGAGED, MemberState.RENEWED})


@transaction.atomic
def membership_mark_renewal_eligible(
    *, membership: Membership, by: User | None = None, at: datetime | None = None
) -> Membership:
    """The term ends within N days and engagement ≥ E: renewal outreach starts its clock."""
    membership = membership_lock(membership)
    at = at or timezone.now()
    if membership.state not in RENEWAL_CANDIDATE_STATES:
        raise InvalidTransition(membership, from_state=membership.state, to_state=MemberState.RENEWAL_ELIGIBLE)
    gaps = renewal_gaps(membership=membership, today=timezone.localdate(at))
    if gaps:
        raise InvalidTransition(
            membership, from_state=membership.state, to_state=MemberState.RENEWAL_ELIGIBLE, why=", ".join(gaps)
        )
    membership_transition(
        membership=membership,
        to=MemberState.RENEWAL_ELIGIBLE,
        kind=MembershipEventKind.RENEWAL_ELIGIBLE,
        by=by,
        at=at,
        data={"term_end": membership.term_end.isoformat(), "score": membership.engagement_score},
    )
    clock_start(
        subject=membership,
        commitment=Commitment.RENEWAL_OUTREACH,
        agreement=membership.agreement,
        at=at,
        owner=membership.owner,
    )
    return membership


def memberships_mark_renewal_eligible(*, at: datetime | None = None) -> int:
    """Daily check: every member now inside the renewal window with enough engagement. Safe to rerun."""
    at = at or timezone.now()
    today = timezone.localdate(at)
    marked = 0
    # Per-version thresholds differ, so filter coarsely in SQL and let the service decide per member.
    longest_window = max(Agreement.objects.values_list("renewal_window_days", flat=True), default=0)
    candidates = Membership.objects.filter(
        state__in=RENEWAL_CANDIDATE_STATES, term_end__lte=today + timedelta(days=longest_window)
    ).values_list("pk", flat=True)
    for pk in list(candidates):  # ids only, bounded by the renewal window; each member in its own transaction
        try:
            membership_mark_renewal_eligible(membership=Membership(pk=pk), at=at)
            marked += 1
        except InvalidTransition:
            continue
    return marked


@transaction.atomic
def membership_renew(
    *, membership: Membership, by: User | None, new_term_end: date, contract_value=None, at: datetime | None = None
) -> Membership:
    membership = membership_lock(membership)
    if membership.state != MemberState.RENEWAL_ELIGIBLE:
        raise InvalidTransition(membership, from_state=membership.state, to_state=MemberState.RENEWED)
    if new_term_end <= membership.term_end:
        raise InvalidInput({"new_term_end": f"The new term must end after {membership.term_end}."})
    at = at or timezone.now()
    fields = ["term_start", "term_end", "renewals"]
    if contract_value is not None:
        membership.contract_value = _clean_contract(
            membership_type=membership.membership_type,
            contract_value=contract_value,
            term_start=membership.term_end,
            term_end=new_term_end,
        )
        fields.append("contract_value")
    previous_end = membership.term_end
    membership.term_start, membership.term_end = previous_end, new_term_end
    membership.renewals += 1
    membership.save(update_fields=fields)
    membership_transition(
        membership=membership,
        to=MemberState.RENEWED,
        kind=MembershipEventKind.RENEWED,
        by=by,
        at=at,
        data={"previous_term_end": previous_end.isoformat(), "term_end": new_term_end.isoformat()},
    )
    clock_stop(subject=membership, commitment=Commitment.RENEWAL_OUTREACH, at=at)
    return membership


@transaction.atomic
def membership_churn(
    *, membership: Membership, by: User | None, reason: str, note: str = "", at: datetime | None = None
) -> Membership:
    """The member leaves; the coded reason feeds back to Marketing and Outreach."""
    if reason not in ChurnReason.values:
        raise InvalidInput({"reason": "Choose a churn reason."})
    if reason == ChurnReason.OTHER and not note.strip():
        raise InvalidInput({"note": "Say why, when the reason is 'Other'."})
    membership = membership_lock(membership)
    at = at or timezone.now()
    membership_transition(
        membership=membership,
        to=MemberState.CHURNED,
        kind=MembershipEventKind.CHURNED,
        by=by,
        at=at,
        reason=reason,
        note=note,
    )
    membership.churn_reason = reason
    membership.churned_at = at
    membership.save(update_fields=["churn_reason", "churned_at"])
    clock_cancel(subject=membership, at=at, note="member churned")
    return membership


@transaction.atomic
def membership_assign(*, membership: Membership, owner: User | None, by: User | None) -> Membership:
    membership = membership_lock(membership)
    if owner is not None and (owner.team is None or owner.team.kind != TeamKind.MEMBER_SUCCESS):
        raise InvalidInput({"owner": f"{owner} is not in Member Success."})
    previous = membership.owner
    membership.owner = owner
    membership.save(update_fields=["owner", "updated_at"])
    membership_event_record(
        membership=membership,
        kind=MembershipEventKind.REASSIGNED,
        by=by,
        at=timezone.now(),
        data={"from": previous.pk if previous else None, "to": owner.pk if owner else None},
    )
    return membership


# --- flags from Member Success to Outreach (upsell) and Marketing (nurture); added for the work screens -------

from .models import FLAG_TEAM, FlagKind, MembershipFlag  # noqa: E402 - kept with the block it serves


@transaction.atomic
def membership_flag(
    *, membership: Membership, by: User | None, kind: str, note: str = "", at: datetime | None = None
) -> MembershipFlag:
    """Raise a member to another team: an upsell chance to Outreach, low engagement to Marketing's nurture.

    One open flag per kind and member: flagging twice would only make the other team's list noisier."""
    if kind not in FlagKind.values:
        raise InvalidInput({"kind": "Choose upsell (to Outreach) or nurture (to Marketing)."})
    membership = membership_lock(membership)
    if membership.state == MemberState.CHURNED:
        raise DomainError("This member has churned; there is nothing to flag.")
    if MembershipFlag.objects.filter(membership=membership, kind=kind, status=MembershipFlag.Status.OPEN).exists():
        raise DomainError(
            f"{membership.organisation} is already flagged for {FlagKind(kind).label.lower()}.", code="conflict"
        )
    at = at or timezone.now()
    flag = MembershipFlag.objects.create(
        membership=membership, kind=kind, to_team=FLAG_TEAM[kind], note=note, created_at=at, created_by=by
    )
    membership_event_record(
        membership=membership,
        kind=MembershipEventKind.FLAGGED,
        by=by,
        at=at,
        note=note,
        data={"flag": flag.pk, "kind": kind, "to_team": flag.to_team},
    )
    return flag


@transaction.atomic
def membership_flag_resolve(
    *, flag: MembershipFlag, by: User | None, note: str = "", at: datetime | None = None
) -> MembershipFlag:
    """The receiving team has acted on the flag (called, added to a nurture track): close it with a note."""
    flag = MembershipFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.status != MembershipFlag.Status.OPEN:
        raise InvalidTransition(flag, from_state=flag.status, to_state=MembershipFlag.Status.DONE)
    at = at or timezone.now()
    flag.status = MembershipFlag.Status.DONE
    flag.resolved_at, flag.resolved_by, flag.resolution = at, by, note
    flag.save(update_fields=["status", "resolved_at", "resolved_by", "resolution"])
    membership_event_record(
        membership=Membership.objects.get(pk=flag.membership_id),
        kind=MembershipEventKind.FLAG_DONE,
        by=by,
        at=at,
        note=note,
        data={"flag": flag.pk, "kind": flag.kind, "to_team": flag.to_team},
    )
    return flag
