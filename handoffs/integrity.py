"""Data integrity: when too many of a team's hand-offs miss required fields in a period, its new hand-offs
pause until a remediation plan is filed and accepted (the plan is due in the agreement's business days)."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Team, TeamKind
from sla.escalations import escalation_raise, plan_open
from sla.models import EscalationKind, Plan
from sla.services import agreement_active

from .models import Handoff

# Month-to-date checks wait for this many hand-offs, so two bad records on the 1st do not stop a team;
# the check of a finished month judges it whatever its size.
MIN_HANDOFFS_MONTH_TO_DATE = 10


def month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def handoff_completeness(*, team_kind: str, start: datetime, end: datetime) -> dict:
    totals = Handoff.objects.filter(
        kind=Handoff.Kind.TO_OUTREACH, from_team=team_kind, created_at__gte=start, created_at__lt=end
    ).aggregate(total=Count("pk"), incomplete=Count("pk", filter=Q(is_complete=False)))
    total, incomplete = totals["total"], totals["incomplete"]
    pct = (Decimal(incomplete) * 100 / total).quantize(Decimal("0.01")) if total else Decimal(0)
    return {"total": total, "incomplete": incomplete, "incomplete_pct": pct}


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@transaction.atomic
def handoff_integrity_check(*, now: datetime | None = None) -> list[Plan]:
    """Check last month (whatever its size) and this month so far (once it has enough hand-offs)."""
    now = now or timezone.now()
    agreement = agreement_active()
    this_start, this_end = month_bounds(timezone.localdate(now))
    last_start, _ = month_bounds(this_start - timedelta(days=1))
    opened = []
    team = Team.objects.select_for_update().get(kind=TeamKind.MARKETING)
    for start, end, minimum in ((last_start, this_start, 1), (this_start, this_end, MIN_HANDOFFS_MONTH_TO_DATE)):
        stats = handoff_completeness(team_kind=team.kind, start=_aware(start), end=min(_aware(end), now))
        if stats["total"] < minimum or stats["incomplete_pct"] <= agreement.max_incomplete_handoff_pct:
            continue
        title = (
            f"{team}: {stats['incomplete_pct']}% of hand-offs incomplete in {start:%B %Y} "
            f"(limit {agreement.max_incomplete_handoff_pct}%)"
        )
        escalation = escalation_raise(
            key=f"integrity:{team.kind}:{start:%Y-%m}",
            kind=EscalationKind.DATA_INTEGRITY,
            agreement=agreement,
            team=team.kind,
            title=title,
            at=now,
            url="/escalations/",
            detail=f"{stats['incomplete']} of {stats['total']} hand-offs missed required fields. New hand-offs are "
            f"paused until a remediation plan is filed and accepted (due in {agreement.remediation_business_days} "
            "business days).",
        )
        if escalation is None:
            continue  # already raised for this month
        team.handoffs_paused = True
        team.handoffs_paused_reason = (
            f"Hand-offs from {team} are paused: {stats['incomplete_pct']}% of {start:%B}'s hand-offs missed required "
            "fields. A remediation plan must be filed and accepted first."
        )
        team.save(update_fields=["handoffs_paused", "handoffs_paused_reason"])
        opened.append(
            plan_open(
                kind=Plan.Kind.REMEDIATION,
                team=team,
                agreement=agreement,
                escalation=escalation,
                title=f"Remediation plan: hand-off data quality ({start:%B %Y})",
                at=now,
                business_days=agreement.remediation_business_days,
            )
        )
    return opened
