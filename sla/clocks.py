"""Clock services: start a commitment's clock at its trigger, stop it with the action that meets it.

Callers run these inside their own transaction, so the clock changes with the state change or not at all."""

from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from sla_portal.errors import DomainError

from .models import Agreement, Clock, ClockState, Commitment, CommitmentTerm, DurationUnit, Escalation


def _subject_filter(subject: models.Model) -> Q:
    return Q(subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk)


def term_deadlines(*, term: CommitmentTerm, start: datetime) -> tuple[datetime, datetime]:
    """(warn_at, due_at) for a clock starting at `start`, in the term's business calendar."""
    spec = term.calendar.spec(around=start)
    if term.unit == DurationUnit.BUSINESS_DAYS:
        due = spec.add_business_days(start, term.amount)
    else:
        due = spec.add(start, timedelta(hours=term.amount))
    allowed = spec.elapsed(start, due)
    warn = spec.add(start, allowed * term.warn_at_pct / 100)
    return warn, due


def clock_start(
    *,
    subject: models.Model,
    commitment: str,
    agreement: Agreement | None,
    at: datetime | None = None,
    owner: User | None = None,
    team: str | None = None,
    label: str = "",
) -> Clock | None:
    """Start the commitment's clock under `agreement`'s terms; None when that version sets no deadline."""
    if agreement is None:
        return None
    try:
        term = agreement.term(commitment)
    except CommitmentTerm.DoesNotExist:
        return None
    at = at or timezone.now()
    # One open clock per commitment: a re-trigger (e.g. a second hand-off) restarts it.
    clock_cancel(subject=subject, commitment=commitment, at=at, note="restarted")
    warn_at, due_at = term_deadlines(term=term, start=at)
    return Clock.objects.create(
        commitment=commitment,
        agreement=agreement,
        term=term,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        subject_label=(label or str(subject))[:200],
        team=team or term.owner_team,
        owner=owner,
        started_at=at,
        warn_at=warn_at,
        due_at=due_at,
        required_count=term.required_count,
    )


def _open_clocks(subject: models.Model, commitment: str | None):
    qs = (
        Clock.objects.select_for_update()
        .filter(_subject_filter(subject))
        .filter(
            Q(state__in=[ClockState.RUNNING, ClockState.PAUSED]) | Q(state=ClockState.BREACHED, stopped_at__isnull=True)
        )
    )
    return qs.filter(commitment=commitment) if commitment else qs


def clock_stop(*, subject: models.Model, commitment: str, at: datetime | None = None) -> Clock | None:
    """The action that meets the commitment happened: met if in time, else the breach stays on record."""
    at = at or timezone.now()
    clock = _open_clocks(subject, commitment).order_by("-started_at").first()
    if clock is None:
        return None
    if clock.state != ClockState.BREACHED:
        if clock.state == ClockState.PAUSED or at <= clock.due_at:
            clock.state = ClockState.MET
        else:
            # Late but not yet swept: the breach is a fact, the sweep will still escalate it.
            clock.state = ClockState.BREACHED
            clock.breached_at = clock.due_at
    clock.stopped_at = at
    clock.save(update_fields=["state", "stopped_at", "breached_at"])
    # Done is done: its warning (and a breach, if late) need no more attention.
    Escalation.objects.filter(clock=clock).exclude(status=Escalation.Status.RESOLVED).update(
        status=Escalation.Status.RESOLVED, resolved_at=at
    )
    return clock


def clock_progress(*, subject: models.Model, commitment: str, at: datetime | None = None) -> Clock | None:
    """Count one action towards a commitment that needs several (N follow-up attempts)."""
    at = at or timezone.now()
    clock = _open_clocks(subject, commitment).order_by("-started_at").first()
    if clock is None:
        return None
    clock.progress_count += 1
    clock.save(update_fields=["progress_count"])
    if clock.progress_count >= clock.required_count:
        return clock_stop(subject=subject, commitment=commitment, at=at)
    return clock


def clock_cancel(
    *, subject: models.Model, commitment: str | None = None, at: datetime | None = None, note: str = ""
) -> int:
    """The commitment no longer applies (the lead left the queue): stop counting without a verdict.

    Breached clocks keep their verdict; only running and paused ones are cancelled."""
    at = at or timezone.now()
    qs = Clock.objects.filter(_subject_filter(subject), state__in=[ClockState.RUNNING, ClockState.PAUSED])
    if commitment:
        qs = qs.filter(commitment=commitment)
    changed = 0
    for clock in qs.select_for_update():
        clock.state = ClockState.CANCELLED
        clock.stopped_at = at
        clock.note = note[:255]
        clock.save(update_fields=["state", "stopped_at", "note"])
        changed += 1
    return changed


def clock_pause(*, subject: models.Model, commitment: str, at: datetime | None = None, note: str = "") -> Clock:
    """Stop counting while the ball is in the prospect's court, if the agreement allows it for this term."""
    at = at or timezone.now()
    clock = _open_clocks(subject, commitment).filter(state=ClockState.RUNNING).first()
    if clock is None:
        raise DomainError("There is no running clock to pause.")
    if clock.term is None or not clock.term.pausable:
        raise DomainError(f"The agreement does not allow pausing '{clock.get_commitment_display()}'.")
    spec = clock.term.calendar.spec(around=at)
    clock.remaining = spec.elapsed(at, clock.due_at)
    clock.remaining_to_warn = spec.elapsed(at, clock.warn_at)
    clock.state = ClockState.PAUSED
    clock.paused_at = at
    clock.note = note[:255]
    clock.save(update_fields=["remaining", "remaining_to_warn", "state", "paused_at", "note"])
    return clock


def clock_resume(*, subject: models.Model, commitment: str, at: datetime | None = None) -> Clock:
    """Count again from where the pause left off: the business time left is carried over."""
    at = at or timezone.now()
    clock = _open_clocks(subject, commitment).filter(state=ClockState.PAUSED).first()
    if clock is None:
        raise DomainError("There is no paused clock to resume.")
    spec = clock.term.calendar.spec(around=at)
    clock.due_at = spec.add(at, clock.remaining)
    clock.warn_at = spec.add(at, clock.remaining_to_warn)
    clock.state = ClockState.RUNNING
    clock.paused_at = None
    clock.remaining = clock.remaining_to_warn = None
    clock.save(update_fields=["due_at", "warn_at", "state", "paused_at", "remaining", "remaining_to_warn"])
    return clock


def crm_update_record(
    *,
    subject: models.Model,
    agreement: Agreement | None,
    action_at: datetime,
    recorded_at: datetime,
    owner: User | None,
    team: str | None = None,
) -> Clock | None:
    """'Update status fields within H hours of actions': the action's real time starts the clock and its
    recording in the portal stops it, so a call logged two days later shows as a late CRM update."""
    clock = clock_start(
        subject=subject, commitment=Commitment.CRM_UPDATE, agreement=agreement, at=action_at, owner=owner, team=team
    )
    if clock is None:
        return None
    return clock_stop(subject=subject, commitment=Commitment.CRM_UPDATE, at=max(recorded_at, action_at))


def clocks_for(subject: models.Model):
    return Clock.objects.filter(_subject_filter(subject)).order_by("started_at")
