"""Writes for leads: creation, touchpoints and scoring, automatic MQL qualification, recycle, disqualify.

Every state change goes through `lead_transition`, which locks nothing itself: callers lock the row
(`lead_lock`) inside their own transaction, check, then call it, so the event row is written atomically.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from accounts.models import User
from sla.clocks import clock_cancel, clock_start, clock_stop
from sla.models import Agreement, Commitment
from sla.services import agreement_active
from sla_portal.errors import DomainError, InvalidInput, InvalidTransition

from .models import (
    LEAD_TRANSITIONS,
    STATE_TEAM,
    TOUCHPOINT_POINTS,
    DisqualifyReason,
    Lead,
    LeadEvent,
    LeadEventKind,
    LeadSource,
    LeadState,
    RecycleReason,
    Touchpoint,
    TouchpointKind,
)

# Fit points per matching Ideal Member Profile attribute; a lead fits the IMP when all three match.
FIT_POINTS = {"sector": 20, "region": 10, "size": 20}
QUALIFIABLE_STATES = frozenset({LeadState.PROSPECT, LeadState.RECYCLED})

LEAD_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "organisation",
    "sector",
    "region",
    "employees",
    "source",
    "campaign",
    "interest",
]


def lead_lock(lead: Lead | int) -> Lead:
    return Lead.objects.select_for_update().get(pk=getattr(lead, "pk", lead))


def lead_event_record(
    *,
    lead: Lead,
    kind: str,
    by: User | None,
    at: datetime,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    note: str = "",
    data: dict | None = None,
    agreement: Agreement | None = None,
) -> LeadEvent:
    return LeadEvent.objects.create(
        lead=lead,
        kind=kind,
        actor=by,
        at=at,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        note=note,
        data=data or {},
        agreement=agreement or lead.agreement,
    )


def lead_transition(
    *,
    lead: Lead,
    to: str,
    kind: str,
    by: User | None,
    at: datetime | None = None,
    reason: str = "",
    note: str = "",
    data: dict | None = None,
    owner: User | None | bool = False,
) -> LeadEvent:
    """Move a locked lead to `to` if the lifecycle allows it, and write the event. `owner=False` keeps it."""
    if to not in LEAD_TRANSITIONS[lead.state]:
        raise InvalidTransition(lead, from_state=lead.state, to_state=to)
    at = at or timezone.now()
    from_state = lead.state
    lead.state = to
    lead.state_changed_at = at
    lead.team = STATE_TEAM[to]
    lead.last_reason = reason
    fields = ["state", "state_changed_at", "team", "last_reason", "updated_at"]
    if owner is not False:
        lead.owner = owner
        fields.append("owner")
    lead.save(update_fields=fields)
    return lead_event_record(
        lead=lead, kind=kind, by=by, at=at, from_state=from_state, to_state=to, reason=reason, note=note, data=data
    )


def lead_score(*, lead: Lead, agreement: Agreement) -> dict:
    """Fit (Ideal Member Profile) + intent (touchpoint points) as the agreement defines them."""
    sector_ok = not agreement.imp_sectors or lead.sector.lower() in {s.lower() for s in agreement.imp_sectors}
    region_ok = not agreement.imp_regions or lead.region.lower() in {r.lower() for r in agreement.imp_regions}
    size_ok = lead.employees >= agreement.imp_min_employees and (agreement.imp_min_employees == 0 or lead.employees > 0)
    fit = sector_ok * FIT_POINTS["sector"] + region_ok * FIT_POINTS["region"] + size_ok * FIT_POINTS["size"]
    totals = lead.touchpoints.aggregate(n=Count("pk"), points=Sum("points")) if lead.pk else {"n": 0, "points": 0}
    intent = totals["points"] or 0
    return {
        "imp_fit": bool(sector_ok and region_ok and size_ok),
        "fit_score": fit,
        "intent_score": intent,
        "score": fit + intent,
        "touchpoint_count": totals["n"],
    }


def lead_meets_mql(*, lead: Lead, agreement: Agreement) -> list[str]:
    """What still keeps the lead from MQL under `agreement` (empty list: it qualifies)."""
    gaps = []
    if not lead.imp_fit:
        gaps.append("does not fit the Ideal Member Profile")
    if lead.touchpoint_count < agreement.mql_min_touchpoints:
        gaps.append(f"{lead.touchpoint_count} of {agreement.mql_min_touchpoints} touchpoints")
    if lead.score < agreement.mql_min_score:
        gaps.append(f"score {lead.score} below {agreement.mql_min_score}")
    return gaps


def _rescore_and_maybe_qualify(*, lead: Lead, by: User | None, at: datetime) -> Lead:
    agreement = agreement_active()
    for field, value in lead_score(lead=lead, agreement=agreement).items():
        setattr(lead, field, value)
    lead.save(update_fields=["imp_fit", "fit_score", "intent_score", "score", "touchpoint_count", "updated_at"])
    if lead.state in QUALIFIABLE_STATES and not lead_meets_mql(lead=lead, agreement=agreement):
        lead.agreement = agreement
        lead.save(update_fields=["agreement"])
        lead_transition(
            lead=lead,
            to=LeadState.MQL,
            kind=LeadEventKind.MQL_QUALIFIED,
            by=by,
            at=at,
            data={"score": lead.score, "touchpoints": lead.touchpoint_count, "agreement": agreement.version},
        )
        # Marketing's hand-off clock starts the moment the lead qualifies.
        clock_start(subject=lead, commitment=Commitment.MQL_HANDOFF, agreement=agreement, at=at, owner=lead.owner)
    return lead


def _clean_lead_data(data: dict) -> dict:
    unknown = set(data) - set(LEAD_FIELDS)
    if unknown:
        raise InvalidInput({f: "Unknown field." for f in sorted(unknown)})
    errors = {}
    if "email" in data:
        email = (data["email"] or "").strip()
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_email

        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = "Enter a valid e-mail address."
        data["email"] = email
    if "first_name" in data and not (data["first_name"] or "").strip():
        errors["first_name"] = "A first name is required."
    if "source" in data and data["source"] not in LeadSource.values:
        errors["source"] = f"Unknown source {data['source']!r}."
    if errors:
        raise InvalidInput(errors)
    return data


@transaction.atomic
def lead_create(*, by: User | None = None, at: datetime | None = None, owner: User | None = None, **data) -> Lead:
    at = at or timezone.now()
    data = _clean_lead_data(data)
    for required in ("first_name", "email"):
        if not data.get(required):
            raise InvalidInput({required: "This field is required."})
    if Lead.objects.filter(email__iexact=data["email"]).exists():
        raise InvalidInput({"email": f"A lead with e-mail {data['email']} already exists."})
    lead = Lead(state=LeadState.PROSPECT, state_changed_at=at, created_at=at, owner=owner, **data)
    try:
        with transaction.atomic():
            lead.save()
    except IntegrityError as exc:  # a concurrent create with the same e-mail won the race
        raise InvalidInput({"email": f"A lead with e-mail {data['email']} already exists."}) from exc
    lead_event_record(
        lead=lead,
        kind=LeadEventKind.CREATED,
        by=by,
        at=at,
        to_state=LeadState.PROSPECT,
        data={"source": lead.source, "campaign": lead.campaign},
    )
    return _rescore_and_maybe_qualify(lead=lead, by=by, at=at)


@transaction.atomic
def lead_update(*, lead: Lead, by: User | None, **data) -> Lead:
    """Edit contact and profile data (e.g. fill missing fields before a hand-off) and re-score."""
    data = _clean_lead_data(data)
    lead = lead_lock(lead)
    if "email" in data and Lead.objects.filter(email__iexact=data["email"]).exclude(pk=lead.pk).exists():
        raise InvalidInput({"email": f"Another lead already uses {data['email']}."})
    for field, value in data.items():
        setattr(lead, field, value)
    lead.save(update_fields=[*data.keys(), "updated_at"])
    return _rescore_and_maybe_qualify(lead=lead, by=by, at=timezone.now())


@transaction.atomic
def touchpoint_record(
    *,
    lead: Lead,
    kind: str,
    at: datetime | None = None,
    points: int | None = None,
    campaign: str = "",
    detail: str = "",
    idempotency_key: str | None = None,
    by: User | None = None,
) -> Touchpoint:
    """Record engagement, re-score, and qualify to MQL when the active agreement's thresholds hold.

    With an idempotency key, a retry returns the touchpoint the first call made instead of a second one."""
    if kind not in TouchpointKind.values:
        raise InvalidInput({"kind": f"Unknown touchpoint kind {kind!r}."})
    if points is not None and points < 0:
        raise InvalidInput({"points": "Points cannot be negative."})
    if idempotency_key:
        existing = Touchpoint.objects.filter(idempotency_key=idempotency_key).first()
        if existing:
            return existing
    at = at or timezone.now()
    lead = lead_lock(lead)
    touchpoint = Touchpoint(
        lead=lead,
        kind=kind,
        at=at,
        points=TOUCHPOINT_POINTS[kind] if points is None else points,
        campaign=campaign,
        detail=detail,
        idempotency_key=idempotency_key or None,
    )
    try:
        with transaction.atomic():
            touchpoint.save()
    except IntegrityError:  # the same key raced us: the first writer's row is the answer
        return Touchpoint.objects.get(idempotency_key=idempotency_key)
    lead_event_record(
        lead=lead,
        kind=LeadEventKind.TOUCHPOINT,
        by=by,
        at=at,
        data={"kind": kind, "points": touchpoint.points, "campaign": campaign},
    )
    _rescore_and_maybe_qualify(lead=lead, by=by, at=at)
    return touchpoint


@transaction.atomic
def lead_qualify(*, lead: Lead, by: User | None = None) -> Lead:
    """Re-check a prospect against the active thresholds; refuses with what is missing."""
    lead = lead_lock(lead)
    if lead.state not in QUALIFIABLE_STATES:
        raise InvalidTransition(lead, from_state=lead.state, to_state=LeadState.MQL)
    lead = _rescore_and_maybe_qualify(lead=lead, by=by, at=timezone.now())
    if lead.state != LeadState.MQL:
        gaps = lead_meets_mql(lead=lead, agreement=agreement_active())
        raise InvalidTransition(lead, from_state=lead.state, to_state=LeadState.MQL, why=", ".join(gaps))
    return lead


@transaction.atomic
def lead_recycle(*, lead: Lead, by: User | None, reason: str, note: str = "", at: datetime | None = None) -> Lead:
    """Send a lead back to Marketing's nurture with a coded reason; it can qualify again later."""
    if reason not in RecycleReason.values:
        raise InvalidInput({"reason": "Choose a recycle reason."})
    lead = lead_lock(lead)
    lead_transition(
        lead=lead,
        to=LeadState.RECYCLED,
        kind=LeadEventKind.RECYCLED,
        by=by,
        at=at,
        reason=reason,
        note=note,
        owner=None,
    )
    _close_lead_clocks(lead=lead, at=lead.state_changed_at)
    return lead


@transaction.atomic
def lead_disqualify(*, lead: Lead, by: User | None, reason: str, note: str = "", at: datetime | None = None) -> Lead:
    if reason not in DisqualifyReason.values:
        raise InvalidInput({"reason": "Choose a disqualification reason."})
    lead = lead_lock(lead)
    lead_transition(
        lead=lead, to=LeadState.DISQUALIFIED, kind=LeadEventKind.DISQUALIFIED, by=by, at=at, reason=reason, note=note
    )
    _close_lead_clocks(lead=lead, at=lead.state_changed_at)
    return lead


def _close_lead_clocks(*, lead: Lead, at: datetime) -> None:
    """Recycling or disqualifying is Outreach's decision: it meets the decision clock; the rest stop counting."""
    clock_stop(subject=lead, commitment=Commitment.DECISION, at=at)
    clock_cancel(subject=lead, at=at, note=f"lead {lead.state}")


@transaction.atomic
def lead_assign(*, lead: Lead, owner: User | None, by: User | None) -> Lead:
    lead = lead_lock(lead)
    if lead.state in {LeadState.CONVERTED, LeadState.DISQUALIFIED}:
        raise DomainError(f"Lead #{lead.pk} is {lead.get_state_display().lower()}; it has no owner to change.")
    if owner is not None and owner.team is not None and owner.team.kind != lead.team:
        raise InvalidInput({"owner": f"{owner} is not in the team that works this lead now."})
    previous = lead.owner
    lead.owner = owner
    lead.save(update_fields=["owner", "updated_at"])
    lead_event_record(
        lead=lead,
        kind=LeadEventKind.REASSIGNED,
        by=by,
        at=timezone.now(),
        data={"from": previous.pk if previous else None, "to": owner.pk if owner else None},
    )
    return lead
