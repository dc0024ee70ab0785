"""The escalation ladder: missed commitments become escalations that reach the right people exactly once.

Exactly-once rests on two things. Each escalation has a unique `key` (cause + level), so a second sweep
that finds the same breach collides on the key and sends nothing. And notifications are rows written in
the same transaction as the escalation (inbox items plus an outbox of e-mail/webhook deliveries), so a
crash or a broker outage leaves either everything or nothing; the outbox is sent afterwards, with retries.
"""

import json
import logging
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, Team, TeamKind, User
from accounts.roles import can_accept_plan, can_handle_escalation, is_admin, is_lead_or_head
from sla_portal.errors import DomainError, Forbidden, InvalidInput, InvalidTransition

from .clocks import clock_stop
from .models import (
    Agreement,
    Clock,
    ClockState,
    Commitment,
    Delivery,
    Escalation,
    EscalationKind,
    KpiResult,
    Notification,
    Plan,
    Review,
    ReviewAction,
)

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
DELIVERY_BATCH = 50
DELIVERY_LEASE = timedelta(minutes=5)
DELIVERY_MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Recipient:
    user: User
    why: str


# --- people on the ladder ------------------------------------------------------------------------


def team_people(team_kind: str, role: str) -> list[User]:
    return list(User.objects.filter(team__kind=team_kind, role=role, is_active=True).order_by("pk"))


def ladder_recipients(*, level: str, team: str, owner: User | None) -> list[Recipient]:
    """Warning → the owner (the team lead when nobody owns it); breach → owner and team lead;
    KPI misses, overdue plans and data-integrity pauses → department head and team lead."""
    people: dict[int, Recipient] = {}

    def add(users, why):
        for user in users:
            if user and user.is_active and user.pk not in people:
                people[user.pk] = Recipient(user, why)

    leads = team_people(team, Role.TEAM_LEAD)
    heads = team_people(team, Role.DEPARTMENT_HEAD)
    if level == EscalationKind.CLOCK_WARNING:
        add([owner] if owner else leads, "you own this item" if owner else "nobody owns this item; you lead the team")
    elif level == EscalationKind.CLOCK_BREACH:
        add([owner] if owner else [], "you own this item")
        add(leads, "you lead the team that missed the deadline")
    elif level in {EscalationKind.REVIEW_DUE, EscalationKind.REVIEW_REMINDER}:
        for kind in (TeamKind.MARKETING, TeamKind.OUTREACH, TeamKind.MEMBER_SUCCESS):
            add(team_people(kind, Role.TEAM_LEAD), "you lead a party to the agreement")
    else:
        add(heads, "you are the department head on the escalation path")
        add([owner] if owner else [], "you own the plan")
        add(leads, "you lead the team concerned")
    return list(people.values())


# --- raising ---------------------------------------------------------------------------------------


def escalation_raise(
    *,
    key: str,
    kind: str,
    agreement: Agreement,
    team: str,
    title: str,
    detail: str = "",
    url: str = "",
    owner: User | None = None,
    recipients: list[Recipient] | None = None,
    clock: Clock | None = None,
    kpi_result: KpiResult | None = None,
    at: datetime | None = None,
    resolved: bool = False,
) -> Escalation | None:
    """Record the escalation with its inbox items and outbox rows; None if `key` was already raised.

    Must run inside the caller's transaction (the state change that caused it)."""
    at = at or timezone.now()
    if recipients is None:
        recipients = ladder_recipients(level=kind, team=team, owner=owner)
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                key=key,
                kind=kind,
                agreement=agreement,
                team=team,
                owner=owner,
                title=title[:200],
                detail=detail,
                url=url,
                clock=clock,
                kpi_result=kpi_result,
                created_at=at,
                status=Escalation.Status.RESOLVED if resolved else Escalation.Status.OPEN,
                resolved_at=at if resolved else None,
            )
    except IntegrityError:
        return None  # another worker (or an earlier run) raised it: exactly once
    why_context = _why_context(escalation)
    notifications = Notification.objects.bulk_create(
        Notification(
            recipient=r.user,
            escalation=escalation,
            title=escalation.title,
            body=detail,
            url=url,
            why=f"{r.why}. {why_context}"[:255],
            created_at=at,
        )
        for r in recipients
    )
    deliveries = [
        Delivery(
            notification=n,
            escalation=escalation,
            channel=Delivery.Channel.EMAIL,
            target=n.recipient.email,
            subject=f"[SLA] {escalation.title}",
            body=_email_body(n),
            payload={},
            next_attempt_at=at,
            created_at=at,
        )
        for n in notifications
        if n.recipient.email
    ]
    webhook = Team.objects.filter(kind=team).exclude(webhook_url="").values_list("webhook_url", flat=True).first()
    if webhook:
        deliveries.append(
            Delivery(
                escalation=escalation,
                channel=Delivery.Channel.WEBHOOK,
                target=webhook,
                subject=escalation.title,
                payload=_webhook_payload(escalation),
                next_attempt_at=at,
                created_at=at,
            )
        )
    Delivery.objects.bulk_create(deliveries)
    if deliveries and settings.SLA_KICK_SENDER_ON_COMMIT:
        transaction.on_commit(_kick_sender)
    return escalation


def _why_context(escalation: Escalation) -> str:
    parts = [f"Agreement v{escalation.agreement.version}"]
    if escalation.clock_id:
        clock = escalation.clock
        parts.append(f"commitment: {clock.get_commitment_display()}")
        parts.append(f"due {timezone.localtime(clock.due_at):%Y-%m-%d %H:%M}")
    if escalation.kpi_result_id:
        parts.append(f"KPI: {escalation.kpi_result.get_metric_display()}")
    return "; ".join(parts)


def _email_body(notification: Notification) -> str:
    base = getattr(settings, "PORTAL_BASE_URL", "http://127.0.0.1:8000")
    link = f"\n\nOpen: {base}{notification.url}" if notification.url else ""
    return f"{notification.body}\n\nWhy you: {notification.why}{link}\n"


def _webhook_payload(escalation: Escalation) -> dict:
    return {
        "text": f"[SLA] {escalation.title}",
        "kind": escalation.kind,
        "team": escalation.team,
        "detail": escalation.detail,
        "url": escalation.url,
        "key": escalation.key,  # receivers can de-duplicate a retried delivery on this
        "agreement_version": escalation.agreement.version,
    }


def _kick_sender() -> None:
    """Best effort: send soon after commit. If the broker is down the beat sweep sends it later."""
    try:
        from .tasks import deliveries_send_task

        deliveries_send_task.apply_async(retry=False, ignore_result=True)
    except Exception:  # noqa: BLE001 - broker outage must never undo or break the business transaction
        log.warning("could not enqueue delivery sender; the periodic sweep will deliver", exc_info=True)


# --- the clock sweep -------------------------------------------------------------------------------

CLOCK_ESCALATION_URLS = {"lead": "/leads/{id}/", "membership": "/members/{id}/", "plan": "/escalations/plans/{id}/"}


def _clock_url(clock: Clock) -> str:
    pattern = CLOCK_ESCALATION_URLS.get(clock.subject_type.model, "")
    return pattern.format(id=clock.subject_id) if pattern else ""


def _clock_breach_kind(clock: Clock) -> str:
    if clock.commitment in {Commitment.CORRECTIVE_PLAN, Commitment.REMEDIATION_PLAN}:
        return EscalationKind.PLAN_OVERDUE
    return EscalationKind.CLOCK_BREACH


def _claim(queryset):
    """Lock a batch of rows, skipping ones another worker holds (PostgreSQL); SQLite serialises writers."""
    return list(queryset.select_for_update(skip_locked=True, of=("self",))[:SWEEP_BATCH])


def clocks_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Warn clocks entering their warning window, breach clocks past due. Safe to run twice at once:
    each batch locks its rows and each (clock, level) has a unique escalation key."""
    now = now or timezone.now()
    counts = {"warned": 0, "breached": 0}
    while True:
        with transaction.atomic():
            clocks = _claim(
                Clock.objects.filter(state=ClockState.RUNNING, warned_at__isnull=True, warn_at__lte=now, due_at__gt=now)
                .select_related("agreement", "owner", "subject_type")
                .order_by("warn_at")
            )
            for clock in clocks:
                clock.warned_at = now
                clock.save(update_fields=["warned_at"])
                left = clock.due_at - now
                escalation_raise(
                    key=f"clock:{clock.pk}:warning",
                    kind=EscalationKind.CLOCK_WARNING,
                    agreement=clock.agreement,
                    team=clock.team,
                    owner=clock.owner,
                    clock=clock,
                    at=now,
                    url=_clock_url(clock),
                    title=f"{clock.get_commitment_display()} due soon: {clock.subject_label}",
                    detail=f"Due {timezone.localtime(clock.due_at):%a %d %b %H:%M} "
                    f"({int(left.total_seconds() // 60)} minutes left).",
                )
                counts["warned"] += 1
        if len(clocks) < SWEEP_BATCH:
            break
    # Two queries, not one with OR: each is served by its own partial index (an OR makes SQLite scan the table).
    for due in (
        Q(state=ClockState.RUNNING, due_at__lte=now),  # past due, nobody acted
        Q(state=ClockState.BREACHED, breach_escalated_at__isnull=True),  # acted, but after the deadline
    ):
        while True:
            with transaction.atomic():
                clocks = _claim(
                    Clock.objects.filter(due).select_related("agreement", "owner", "subject_type").order_by("due_at")
                )
                for clock in clocks:
                    _breach(clock, now=now)
                    counts["breached"] += 1
            if len(clocks) < SWEEP_BATCH:
                break
    return counts


def _breach(clock: Clock, *, now: datetime) -> None:
    late_stop = clock.state == ClockState.BREACHED  # the action happened, after the deadline
    clock.state = ClockState.BREACHED
    clock.breached_at = clock.breached_at or clock.due_at
    clock.breach_escalated_at = now
    clock.save(update_fields=["state", "breached_at", "breach_escalated_at"])
    escalation_raise(
        key=f"clock:{clock.pk}:breach",
        kind=_clock_breach_kind(clock),
        agreement=clock.agreement,
        team=clock.team,
        owner=clock.owner,
        clock=clock,
        at=now,
        url=_clock_url(clock),
        resolved=late_stop,
        title=f"Missed: {clock.get_commitment_display()} – {clock.subject_label}",
        detail=f"Was due {timezone.localtime(clock.due_at):%a %d %b %H:%M}"
        + (f"; done late at {timezone.localtime(clock.stopped_at):%a %d %b %H:%M}." if late_stop else "."),
    )


# --- the outbox ------------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def _send(delivery: Delivery) -> None:
    if delivery.channel == Delivery.Channel.EMAIL:
        message = EmailMultiAlternatives(subject=delivery.subject, body=delivery.body, to=[delivery.target])
        if delivery.html_body:
            message.attach_alternative(delivery.html_body, "text/html")
        message.send(fail_silently=False)
        return
    request = urllib.request.Request(  # noqa: S310 - admin-configured https/http webhook
        delivery.target,
        data=json.dumps(delivery.payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": f"sla-delivery-{delivery.pk}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        if response.status >= 300:
            raise OSError(f"webhook answered {response.status}")


def deliveries_send(*, now: datetime | None = None) -> dict[str, int]:
    """Send due outbox rows. A row is leased (next_attempt_at pushed forward) in a short transaction,
    sent outside it, then marked; a worker that dies mid-send leaves a lease that expires and is retried."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    while True:
        now_ = now or timezone.now()
        with transaction.atomic():
            batch = list(
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now_)
                .order_by("next_attempt_at")[:DELIVERY_BATCH]
            )
            for delivery in batch:
                delivery.attempts += 1
                delivery.next_attempt_at = now_ + DELIVERY_LEASE
                delivery.save(update_fields=["attempts", "next_attempt_at"])
        if not batch:
            return counts
        for delivery in batch:
            try:
                _send(delivery)
            except Exception as exc:  # noqa: BLE001 - any transport failure is retried with back-off
                delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if delivery.attempts >= DELIVERY_MAX_ATTEMPTS:
                    delivery.status = Delivery.Status.FAILED
                    counts["failed"] += 1
                else:
                    delivery.next_attempt_at = now_ + _backoff(delivery.attempts)
                    counts["retry"] += 1
                Delivery.objects.filter(pk=delivery.pk).update(
                    status=delivery.status, last_error=delivery.last_error, next_attempt_at=delivery.next_attempt_at
                )
            else:
                Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.SENT, sent_at=timezone.now())
                counts["sent"] += 1
        if len(batch) < DELIVERY_BATCH or now is not None:
            return counts


# --- acting on escalations and notifications -------------------------------------------------------


def _may_handle(user: User, escalation: Escalation) -> bool:
    return can_handle_escalation(user, team=escalation.team, owner_id=escalation.owner_id)


@transaction.atomic
def escalation_acknowledge(*, escalation: Escalation, by: User) -> Escalation:
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if not _may_handle(by, escalation):
        raise Forbidden("Only the owner, the team lead or a department head can acknowledge this.")
    if escalation.status != Escalation.Status.OPEN:
        raise InvalidTransition(escalation, from_state=escalation.status, to_state=Escalation.Status.ACKNOWLEDGED)
    escalation.status = Escalation.Status.ACKNOWLEDGED
    escalation.save(update_fields=["status"])
    return escalation


@transaction.atomic
def escalation_resolve(*, escalation: Escalation, by: User, note: str = "") -> Escalation:
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if not _may_handle(by, escalation):
        raise Forbidden("Only the owner, the team lead or a department head can resolve this.")
    if escalation.status == Escalation.Status.RESOLVED:
        raise InvalidTransition(escalation, from_state=escalation.status, to_state=Escalation.Status.RESOLVED)
    if hasattr(escalation, "plan") and escalation.plan.status != Plan.Status.ACCEPTED:
        raise DomainError("This escalation closes when its plan is accepted.")
    escalation.status = Escalation.Status.RESOLVED
    escalation.resolved_at = timezone.now()
    escalation.resolved_by = by
    if note:
        escalation.detail = f"{escalation.detail}\n\nResolution: {note}".strip()
    escalation.save(update_fields=["status", "resolved_at", "resolved_by", "detail"])
    return escalation


@transaction.atomic
def notification_mark_read(*, notification: Notification, by: User) -> Notification:
    if notification.recipient_id != by.pk:
        raise Forbidden("This notification is not yours.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


# --- plans: corrective action and data remediation --------------------------------------------------


def plan_open(
    *,
    kind: str,
    team: Team,
    agreement: Agreement,
    escalation: Escalation,
    title: str,
    at: datetime,
    business_days: int,
) -> Plan:
    """Open a plan with its own deadline; the deadline is a clock, so it warns and escalates like any other."""
    calendar = agreement.escalation_calendar
    spec = calendar.spec(around=at) if calendar else None
    due = spec.add_business_days(at, business_days) if spec else at + timedelta(days=business_days * 7 / 5)
    owner = next(iter(team_people(team.kind, Role.TEAM_LEAD)), None)
    plan = Plan.objects.create(
        kind=kind,
        team=team,
        agreement=agreement,
        escalation=escalation,
        owner=owner,
        title=title[:200],
        opened_at=at,
        due_at=due,
    )
    commitment = Commitment.CORRECTIVE_PLAN if kind == Plan.Kind.CORRECTIVE else Commitment.REMEDIATION_PLAN
    clock_start_fixed(
        subject=plan,
        commitment=commitment,
        agreement=agreement,
        at=at,
        due_at=due,
        team=team.kind,
        owner=owner,
        label=plan.title,
    )
    return plan


def clock_start_fixed(
    *,
    subject,
    commitment: str,
    agreement: Agreement,
    at: datetime,
    due_at: datetime,
    team: str,
    owner: User | None,
    label: str,
    warn_fraction: float = 0.6,
) -> Clock:
    """A clock whose deadline comes from the escalation rules rather than a CommitmentTerm row."""
    from django.contrib.contenttypes.models import ContentType

    return Clock.objects.create(
        commitment=commitment,
        agreement=agreement,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        subject_label=label[:200],
        team=team,
        owner=owner,
        started_at=at,
        warn_at=at + (due_at - at) * warn_fraction,
        due_at=due_at,
    )


@transaction.atomic
def plan_submit(*, plan: Plan, by: User, root_cause: str, actions: str) -> Plan:
    """The team files its plan: root cause and the actions it commits to. Filing meets the plan's deadline."""
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if not can_handle_escalation(by, team=plan.team.kind, owner_id=plan.owner_id):
        raise Forbidden("Only the plan's owner, the team lead or a department head can file this plan.")
    errors = {}
    if not root_cause.strip():
        errors["root_cause"] = "Describe the root cause."
    if not actions.strip():
        errors["actions"] = "List the corrective actions."
    if errors:
        raise InvalidInput(errors)
    if plan.status == Plan.Status.ACCEPTED:
        raise InvalidTransition(
            plan, from_state=plan.status, to_state=Plan.Status.SUBMITTED, why="the plan was already accepted"
        )
    now = timezone.now()
    plan.root_cause, plan.actions = root_cause.strip(), actions.strip()
    plan.status = Plan.Status.SUBMITTED
    plan.submitted_at, plan.submitted_by = now, by
    plan.save(update_fields=["root_cause", "actions", "status", "submitted_at", "submitted_by"])
    commitment = Commitment.CORRECTIVE_PLAN if plan.kind == Plan.Kind.CORRECTIVE else Commitment.REMEDIATION_PLAN
    clock_stop(subject=plan, commitment=commitment, at=now)
    return plan


@transaction.atomic
def plan_accept(*, plan: Plan, by: User) -> Plan:
    """A department head accepts the plan; a remediation plan lifts the team's hand-off pause."""
    if not can_accept_plan(by):
        raise Forbidden("Only a department head can accept a plan.")
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != Plan.Status.SUBMITTED:
        raise InvalidTransition(
            plan, from_state=plan.status, to_state=Plan.Status.ACCEPTED, why="only a submitted plan can be accepted"
        )
    now = timezone.now()
    plan.status = Plan.Status.ACCEPTED
    plan.accepted_at, plan.accepted_by = now, by
    plan.save(update_fields=["status", "accepted_at", "accepted_by"])
    Escalation.objects.filter(pk=plan.escalation_id).exclude(status=Escalation.Status.RESOLVED).update(
        status=Escalation.Status.RESOLVED, resolved_at=now, resolved_by=by
    )
    if plan.kind == Plan.Kind.REMEDIATION:
        Team.objects.filter(pk=plan.team_id).update(handoffs_paused=False, handoffs_paused_reason="")
    return plan


# --- reviews -----------------------------------------------------------------------------------------


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


@transaction.atomic
def reviews_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """The agreement's review date opens a review task for the three leads; a reminder goes out before it.
    Each month also opens the monthly alignment review of the month just ended."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = {"reminded": 0, "opened": 0, "monthly": 0}
    agreement = Agreement.objects.filter(status=Agreement.Status.ACTIVE).first()
    if agreement is None:
        return counts
    counts["monthly"] = int(_monthly_review_open(agreement=agreement, today=today, now=now))
    review_date = agreement.review_date
    if today >= review_date - timedelta(days=agreement.review_reminder_days) and today < review_date:
        raised = escalation_raise(
            key=f"review:{agreement.pk}:{review_date}:reminder",
            kind=EscalationKind.REVIEW_REMINDER,
            agreement=agreement,
            team=TeamKind.REVOPS,
            at=now,
            url="/dashboard/reviews/",
            title=f"Quarterly SLA review on {review_date:%d %b %Y}",
            detail="Prepare your team's numbers, misses and proposed changes to the agreement.",
        )
        counts["reminded"] += raised is not None
    if today >= review_date:
        start = _quarter_start(review_date - timedelta(days=1))
        review, created = Review.objects.get_or_create(
            kind=Review.Kind.QUARTERLY,
            period_start=start,
            defaults={"agreement": agreement, "period_end": review_date, "due_on": review_date, "opened_at": now},
        )
        raised = escalation_raise(
            key=f"review:{agreement.pk}:{review_date}:due",
            kind=EscalationKind.REVIEW_DUE,
            agreement=agreement,
            team=TeamKind.REVOPS,
            at=now,
            url=f"/dashboard/reviews/{review.pk}/",
            title=f"Quarterly SLA review is due ({review_date:%d %b %Y})",
            detail="Review metrics, definitions and process; amend the agreement if needed and sign off.",
        )
        counts["opened"] += raised is not None
    return counts


def _monthly_review_open(*, agreement: Agreement, today: date, now: datetime) -> bool:
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    first_effective = (
        Agreement.objects.exclude(status=Agreement.Status.DRAFT)
        .order_by("effective_date")
        .values_list("effective_date", flat=True)
        .first()
    )
    if first_effective is None or this_month <= first_effective:
        return False  # no month has ended under the agreement yet
    review, created = Review.objects.get_or_create(
        kind=Review.Kind.MONTHLY,
        period_start=last_month,
        defaults={
            "agreement": agreement,
            "period_end": this_month,
            "due_on": this_month + timedelta(days=14),
            "opened_at": now,
        },
    )
    if not created:
        return False
    escalation_raise(
        key=f"review:monthly:{last_month:%Y-%m}",
        kind=EscalationKind.REVIEW_DUE,
        agreement=agreement,
        team=TeamKind.REVOPS,
        at=now,
        url=f"/dashboard/reviews/{review.pk}/",
        title=f"Monthly alignment review of {last_month:%B %Y}",
        detail="Review the month's KPI results, misses and escalations, hand-off issues and data gaps; record root "
        f"causes and agreed actions by {review.due_on:%d %b}.",
    )
    return True


@transaction.atomic
def review_complete(*, review: Review, by: User, root_causes: str = "", notes: str = "") -> Review:
    if not is_lead_or_head(by):
        raise Forbidden("Only team leads and department heads record a review.")
    review = Review.objects.select_for_update().get(pk=review.pk)
    if review.status == Review.Status.DONE:
        raise InvalidTransition(review, from_state=review.status, to_state=Review.Status.DONE)
    review.root_causes, review.notes = root_causes, notes
    review.status = Review.Status.DONE
    review.completed_at, review.completed_by = timezone.now(), by
    review.save(update_fields=["root_causes", "notes", "status", "completed_at", "completed_by"])
    # The review-due escalation is the one pointing at this review (quarterly and monthly ones differ).
    Escalation.objects.filter(kind=EscalationKind.REVIEW_DUE, url=f"/dashboard/reviews/{review.pk}/").exclude(
        status=Escalation.Status.RESOLVED
    ).update(status=Escalation.Status.RESOLVED, resolved_at=review.completed_at, resolved_by=by)
    return review


@transaction.atomic
def review_action_add(*, review: Review, by: User, description: str, owner: User, due_on: date) -> ReviewAction:
    if not is_lead_or_head(by):
        raise Forbidden("Only team leads and department heads record review actions.")
    errors = {}
    if not description.strip():
        errors["description"] = "Describe the action."
    if owner is None:
        errors["owner"] = "Choose who owns the action."
    if due_on is None:
        errors["due_on"] = "Choose a due date."
    elif due_on < timezone.localdate():
        errors["due_on"] = "The due date cannot be in the past."
    if errors:
        raise InvalidInput(errors)
    return ReviewAction.objects.create(review=review, description=description.strip()[:255], owner=owner, due_on=due_on)


@transaction.atomic
def review_action_done(*, action: ReviewAction, by: User) -> ReviewAction:
    action = ReviewAction.objects.select_for_update().get(pk=action.pk)
    if not (is_admin(by) or by.pk == action.owner_id or by.role in {Role.TEAM_LEAD, Role.DEPARTMENT_HEAD}):
        raise Forbidden("Only the action's owner or a lead can close it.")
    if action.status == ReviewAction.Status.DONE:
        raise InvalidTransition(action, from_state=action.status, to_state=ReviewAction.Status.DONE)
    action.status = ReviewAction.Status.DONE
    action.done_at = timezone.now()
    action.save(update_fields=["status", "done_at"])
    return action
