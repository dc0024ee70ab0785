"""Writes for the agreement: drafting amendments, sign-off and activation (the one-active-version rule)."""

from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role, Team, User
from sla_portal.errors import DomainError, Forbidden, InvalidTransition

from .models import Agreement, Amendment, CommitmentTerm, KpiTarget, SignOff

# Fields compared between versions for the amendment log.
AGREEMENT_TERMS = [
    "title",
    "objective",
    "review_date",
    "imp_sectors",
    "imp_regions",
    "imp_min_employees",
    "mql_min_touchpoints",
    "mql_min_score",
    "onboarded_within_days",
    "renewal_window_days",
    "renewal_min_engagement",
    "engaged_threshold",
    "engagement_window_days",
    "mqls_per_month",
    "required_handoff_fields",
    "consecutive_misses_to_escalate",
    "corrective_plan_business_days",
    "max_incomplete_handoff_pct",
    "remediation_business_days",
    "review_reminder_days",
]


class NoActiveAgreement(DomainError):
    def __init__(self):
        super().__init__("No SLA agreement is active: an admin must activate one first.", code="no_agreement")


def agreement_active() -> Agreement:
    agreement = (
        Agreement.objects.filter(status=Agreement.Status.ACTIVE)
        .prefetch_related("terms__calendar", "kpi_targets__team", "parties")
        .first()
    )
    if agreement is None:
        raise NoActiveAgreement()
    return agreement


def next_version() -> int:
    last = Agreement.objects.order_by("-version").values_list("version", flat=True).first()
    return (last or 0) + 1


@transaction.atomic
def agreement_draft(*, by: User | None, based_on: Agreement | None = None, **terms) -> Agreement:
    """A new draft version: a copy of `based_on` (terms, KPI table, parties) with `terms` overridden."""
    fields = {f: getattr(based_on, f) for f in AGREEMENT_TERMS} if based_on else {}
    fields.update(terms)
    draft = Agreement.objects.create(version=next_version(), based_on=based_on, created_by=by, **fields)
    if based_on is not None:
        draft.parties.set(based_on.parties.all())
        CommitmentTerm.objects.bulk_create(
            CommitmentTerm(
                agreement=draft,
                commitment=t.commitment,
                owner_team=t.owner_team,
                amount=t.amount,
                unit=t.unit,
                calendar_id=t.calendar_id,
                warn_at_pct=t.warn_at_pct,
                required_count=t.required_count,
                pausable=t.pausable,
            )
            for t in based_on.terms.all()
        )
        KpiTarget.objects.bulk_create(
            KpiTarget(
                agreement=draft,
                team_id=k.team_id,
                metric=k.metric,
                comparator=k.comparator,
                target=k.target,
                frequency=k.frequency,
            )
            for k in based_on.kpi_targets.all()
        )
    return draft


@transaction.atomic
def agreement_sign(*, agreement: Agreement, team: Team, by: User, on: date | None = None) -> SignOff:
    """A party's lead (or department head) signs a draft on behalf of their team."""
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk)
    if agreement.status != Agreement.Status.DRAFT:
        raise DomainError(f"v{agreement.version} is {agreement.get_status_display().lower()}; only drafts are signed.")
    if not agreement.parties.filter(pk=team.pk).exists():
        raise DomainError(f"{team} is not a party to v{agreement.version}.")
    may_sign = by.is_superuser or (by.team_id == team.pk and by.role in {Role.TEAM_LEAD, Role.DEPARTMENT_HEAD})
    if not may_sign:
        raise Forbidden(f"Only {team}'s lead or department head can sign for {team}.")
    try:
        with transaction.atomic():
            return SignOff.objects.create(
                agreement=agreement, team=team, signed_by=by, signed_on=on or timezone.localdate()
            )
    except IntegrityError as exc:
        raise DomainError(f"{team} has already signed v{agreement.version}.", code="conflict") from exc


def agreement_diff(old: Agreement | None, new: Agreement) -> dict[str, list]:
    """Field → [old, new] for every term that differs, commitments and KPI targets included."""
    changes: dict[str, list] = {}
    for field in AGREEMENT_TERMS:
        before = getattr(old, field) if old else None
        after = getattr(new, field)
        if before != after:
            changes[field] = [_plain(before), _plain(after)]

    def term_map(a):
        return (
            {t.commitment: f"{t.amount} {t.unit} ({t.calendar.name})" for t in a.terms.select_related("calendar")}
            if a
            else {}
        )

    def kpi_map(a):
        return (
            {
                f"{k.team.kind}:{k.metric}": f"{k.comparator} {k.target} {k.frequency}"
                for k in a.kpi_targets.select_related("team")
            }
            if a
            else {}
        )

    for prefix, mapper in (("commitment", term_map), ("kpi", kpi_map)):
        before_map, after_map = mapper(old), mapper(new)
        for key in sorted(before_map.keys() | after_map.keys()):
            if before_map.get(key) != after_map.get(key):
                changes[f"{prefix}:{key}"] = [before_map.get(key), after_map.get(key)]
    return changes


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (int, str, list, dict, bool)):
        return value
    return str(value)


@transaction.atomic
def agreement_activate(*, agreement: Agreement, by: User | None, summary: str = "") -> Agreement:
    """Make a signed draft the one active version; the previous one is superseded in the same transaction.

    Work already started keeps the version it started under (leads, hand-offs and clocks point to it)."""
    # Lock every non-superseded version in a stable order so two activations cannot both win.
    locked = list(
        Agreement.objects.select_for_update()
        .filter(Q(pk=agreement.pk) | Q(status=Agreement.Status.ACTIVE))
        .order_by("pk")
    )
    agreement = next(a for a in locked if a.pk == agreement.pk)
    if agreement.status != Agreement.Status.DRAFT:
        raise InvalidTransition(
            agreement,
            from_state=agreement.status,
            to_state=Agreement.Status.ACTIVE,
            why="only a draft can be activated",
        )
    parties = list(agreement.parties.all())
    if not parties:
        raise DomainError(f"v{agreement.version} names no parties.")
    signed = set(agreement.sign_offs.values_list("team_id", flat=True))
    unsigned = [str(t) for t in parties if t.pk not in signed]
    if unsigned:
        raise DomainError(f"v{agreement.version} still needs sign-off from: {', '.join(unsigned)}.", code="unsigned")
    if not agreement.terms.exists():
        raise DomainError(f"v{agreement.version} has no commitments with deadlines.")

    now = timezone.now()
    previous = next((a for a in locked if a.status == Agreement.Status.ACTIVE), None)
    if previous is not None:
        previous.status = Agreement.Status.SUPERSEDED
        previous.save(update_fields=["status"])
    agreement.status = Agreement.Status.ACTIVE
    agreement.activated_at = now
    agreement.activated_by = by
    if agreement.effective_date is None or agreement.effective_date < timezone.localdate(now):
        agreement.effective_date = timezone.localdate(now)
    agreement.save(update_fields=["status", "activated_at", "activated_by", "effective_date"])

    changes = agreement_diff(previous, agreement)
    amendment = Amendment.objects.create(
        agreement=agreement,
        previous=previous,
        changed_by=by,
        at=now,
        changes=changes,
        summary=summary
        or (f"v{agreement.version} replaces v{previous.version}" if previous else f"v{agreement.version} adopted"),
    )
    recipients = list(User.objects.filter(team__in=parties, is_active=True))
    amendment.notified.set(recipients)
    _notify_parties(amendment, recipients)
    return agreement


def _notify_parties(amendment: Amendment, recipients: list[User]) -> None:
    """Every party member gets an inbox item and an e-mail in the outbox, in the activation's transaction."""
    from .models import Delivery, Notification

    lines = [f"- {field}: {old!r} → {new!r}" for field, (old, new) in amendment.changes.items()]
    body = f"{amendment.summary}\n\nChanged terms:\n" + ("\n".join(lines) or "(none)")
    title = f"SLA v{amendment.agreement.version} is now active"
    why = "You belong to a party of the agreement; every amendment is sent to all parties."
    notifications = Notification.objects.bulk_create(
        Notification(recipient=u, title=title, body=body, url="/", why=why, created_at=amendment.at) for u in recipients
    )
    Delivery.objects.bulk_create(
        Delivery(
            notification=n,
            channel=Delivery.Channel.EMAIL,
            target=n.recipient.email,
            subject=f"[SLA] {title}",
            body=f"{body}\n\nWhy you: {why}\n",
            next_attempt_at=amendment.at,
            created_at=amendment.at,
        )
        for n in notifications
        if n.recipient.email
    )
