"""Reads for Member Success's screens and the member detail page, each a fixed number of queries per page."""

from datetime import datetime, timedelta

from django.db.models import (
    DateTimeField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from leads.selectors import clock_entries, clocks_attach, open_clock_due, still_open, subject_q
from sla.models import Clock, Commitment, Escalation
from sla_portal.policy import memberships_visible

from .models import (
    ACTIVE_MEMBER_STATES,
    ChurnReason,
    EngagementActivity,
    Membership,
    MembershipFlag,
    MemberState,
    OnboardingStep,
    OnboardingTask,
)

ENGAGEMENT_WINDOWS = (30, 60, 90)
# 'At risk': a member for at least this long whose engagement over the recent window is below the
# agreement's 'engaged' threshold: they are not using what they pay for.
AT_RISK_AFTER_DAYS = 30
AT_RISK_WINDOW_DAYS = 90
WAITING_STATES = (MemberState.SIGNED, MemberState.ONBOARDING)


def _open_flags() -> Prefetch:
    return Prefetch(
        "flags",
        queryset=MembershipFlag.objects.filter(status=MembershipFlag.Status.OPEN).order_by("created_at"),
        to_attr="open_flags",
    )


def member_list(*, user: User) -> QuerySet[Membership]:
    return memberships_visible(user).select_related("owner")


def onboarding_queue(*, user: User) -> QuerySet[Membership]:
    """New members waiting for onboarding, the nearest onboarding deadline first, with their checklists."""
    return (
        memberships_visible(user)
        .filter(state__in=WAITING_STATES)
        .select_related("owner")
        .prefetch_related(Prefetch("tasks", queryset=OnboardingTask.objects.order_by("pk")))
        .annotate(next_due=open_clock_due(app_label="onboarding", model="membership"))
        .order_by(F("next_due").asc(nulls_last=True), "signed_at", "pk")
    )


def member_rows(rows) -> list[Membership]:
    return clocks_attach(rows, app_label="onboarding", model="membership")


def _points_within(days: int) -> Sum:
    limit = ExpressionWrapper(F("signed_at") + timedelta(days=days), output_field=DateTimeField())
    return Coalesce(Sum("activities__points", filter=Q(activities__at__lt=limit)), Value(0))


def engagement_list(*, user: User) -> QuerySet[Membership]:
    """Engagement points earned in the first 30/60/90 days after signing, per member, in one query."""
    return (
        memberships_visible(user)
        .exclude(state=MemberState.CHURNED)
        .select_related("owner", "agreement")
        .annotate(
            p30=_points_within(30),
            p60=_points_within(60),
            p90=_points_within(90),
            last_activity_at=Max("activities__at"),
        )
        .order_by("-signed_at", "-pk")
    )


def engagement_rows(rows, *, now: datetime) -> list[Membership]:
    """Mark which windows are still open (a member signed 40 days ago has no 60-day figure yet)."""
    rows = list(rows)
    for m in rows:
        age = (now - m.signed_at).days
        threshold = m.agreement.engaged_threshold
        m.windows = [
            {
                "days": days,
                "points": getattr(m, f"p{days}"),
                "open": age < days,
                "ok": getattr(m, f"p{days}") >= threshold,
                "pct": min(100, round(100 * getattr(m, f"p{days}") / threshold)) if threshold else 100,
            }
            for days in ENGAGEMENT_WINDOWS
        ]
    return rows


def at_risk_list(*, user: User, now: datetime | None = None) -> QuerySet[Membership]:
    """Members for a month or more whose recent engagement is below the agreement's 'engaged' threshold."""
    now = now or timezone.now()
    recent = (
        EngagementActivity.objects.filter(membership=OuterRef("pk"), at__gte=now - timedelta(days=AT_RISK_WINDOW_DAYS))
        .values("membership")
        .annotate(total=Sum("points"))
        .values("total")[:1]
    )
    last = EngagementActivity.objects.filter(membership=OuterRef("pk")).order_by("-at").values("at")[:1]
    return (
        memberships_visible(user)
        .filter(state__in=ACTIVE_MEMBER_STATES, signed_at__lte=now - timedelta(days=AT_RISK_AFTER_DAYS))
        .select_related("owner", "agreement")
        .prefetch_related(_open_flags())
        .annotate(
            recent_points=Coalesce(Subquery(recent, output_field=IntegerField()), Value(0)),
            last_activity_at=Subquery(last),
        )
        .filter(recent_points__lt=F("agreement__engaged_threshold"))
        .order_by("recent_points", "term_end", "pk")
    )


def renewal_list(*, user: User, now: datetime | None = None, upcoming_days: int | None = None) -> QuerySet:
    """Renewal-eligible members, the nearest renewal-outreach deadline first; or, with `upcoming_days`,
    active members whose term ends within that many days and who are not eligible yet."""
    now = now or timezone.now()
    qs = memberships_visible(user).select_related("owner", "agreement").prefetch_related(_open_flags())
    if upcoming_days is not None:
        today = timezone.localdate(now)
        return qs.filter(
            state__in=[MemberState.ONBOARDED, MemberState.ENGAGED, MemberState.RENEWED],
            term_end__lte=today + timedelta(days=upcoming_days),
        ).order_by("term_end", "pk")
    return (
        qs.filter(state=MemberState.RENEWAL_ELIGIBLE)
        .annotate(
            next_due=open_clock_due(
                app_label="onboarding", model="membership", commitments=[Commitment.RENEWAL_OUTREACH]
            )
        )
        .order_by(F("next_due").asc(nulls_last=True), "term_end", "pk")
    )


def flag_list(*, user: User) -> QuerySet[MembershipFlag]:
    return MembershipFlag.objects.filter(membership__in=memberships_visible(user).values("pk")).select_related(
        "membership", "membership__owner", "created_by", "resolved_by"
    )


# --- the member detail page -------------------------------------------------------------------------------


def member_get(*, pk: int) -> Membership | None:
    return (
        Membership.objects.select_related("owner", "agreement", "lead", "handoff", "handoff__from_user")
        .filter(pk=pk)
        .first()
    )


def member_timeline(*, membership: Membership, now: datetime | None = None) -> dict:
    """Everything about one member in a fixed 6 queries: events, checklist, engagement, clocks, escalations,
    flags; plus the 30/60/90-day engagement it adds up to."""
    now = now or timezone.now()
    events = list(membership.events.select_related("actor").order_by("at", "pk"))
    tasks = list(membership.tasks.select_related("done_by").order_by("pk"))
    activities = list(membership.activities.order_by("-at", "-pk"))
    clocks = list(
        Clock.objects.filter(subject_q("onboarding", "membership"), subject_id=membership.pk)
        .select_related("owner")
        .order_by("started_at", "pk")
    )
    escalations = list(
        Escalation.objects.filter(
            subject_q("onboarding", "membership", prefix="clock__"), clock__subject_id=membership.pk
        )
        .select_related("owner", "clock")
        .order_by("created_at", "pk")
    )
    flags = list(membership.flags.select_related("created_by", "resolved_by").order_by("-created_at", "-pk"))

    threshold = membership.agreement.engaged_threshold
    age_days = (now - membership.signed_at).days
    windows = []
    for days in ENGAGEMENT_WINDOWS:
        until = membership.signed_at + timedelta(days=days)
        points = sum(a.points for a in activities if a.at < until)
        windows.append(
            {
                "days": days,
                "points": points,
                "open": age_days < days,
                "ok": points >= threshold,
                "pct": min(100, round(100 * points / threshold)) if threshold else 100,
            }
        )

    step_labels = dict(OnboardingStep.choices)
    churn_labels = dict(ChurnReason.choices)
    entries = []
    for event in events:
        data = event.data or {}
        details = []
        title = event.get_kind_display()
        if event.kind == "task_done":
            title = f"Done: {step_labels.get(data.get('step'), data.get('step'))}"
        elif event.kind == "engagement":
            details.append(f"{data.get('kind', '').replace('_', ' ')} +{data.get('points', 0)}")
        elif event.kind in {"flagged", "flag_done"}:
            details.append({"upsell": "upsell → Outreach", "nurture": "nurture → Marketing"}.get(data.get("kind"), ""))
        entries.append(
            {
                "at": event.at,
                "cat": _member_event_category(event.kind),
                "title": title,
                "actor": event.actor,
                "from": event.get_from_state_display() if event.from_state else "",
                "to": event.get_to_state_display() if event.to_state and event.from_state else "",
                "reason": churn_labels.get(event.reason, event.reason),
                "note": event.note,
                "details": [d for d in details if d],
            }
        )
    entries += clock_entries(clocks, escalations)
    entries.sort(key=lambda e: e["at"])
    return {
        "entries": entries,
        "tasks": tasks,
        "activities": activities,
        "clocks": clocks,
        "open_clocks": [c for c in clocks if still_open(c)],
        "escalations": escalations,
        "flags": flags,
        "open_flag_kinds": {f.kind for f in flags if f.status == MembershipFlag.Status.OPEN},
        "windows": windows,
        "threshold": threshold,
        "tasks_done": sum(1 for t in tasks if t.done_at),
    }


def _member_event_category(kind: str) -> str:
    return {
        "signed": "ok",
        "onboarding_started": "info",
        "task_done": "ok",
        "onboarded": "ok",
        "engagement": "touch",
        "engaged": "ok",
        "renewal_eligible": "info",
        "renewed": "ok",
        "churned": "bad",
        "flagged": "warn",
        "flag_done": "info",
    }.get(kind, "info")
