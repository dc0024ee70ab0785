"""Writes of the metrics app: the weekly digest (inbox items + outbox e-mails) and opening a monthly review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, Team, User
from accounts.roles import is_lead_or_head
from sla.models import Delivery, Escalation, Notification, Review
from sla.services import agreement_active
from sla_portal.errors import Forbidden, InvalidInput

from .periods import DASHBOARD_TEAMS, Filters, add_months, month_start
from .selectors import OPEN_ESCALATION, Dashboard, dashboard_build, digest_numbers

DIGEST_WHY = "You lead {team}: the weekly dashboard goes to every team lead on Mondays."


def digest_week(now: datetime) -> tuple[date, date]:
    """The last full Monday–Sunday week before `now`, as [start, end) dates."""
    today = timezone.localdate(now)
    end = today - timedelta(days=today.weekday())
    return end - timedelta(days=7), end


def digest_title(team: Team, week_start: date) -> str:
    return f"Weekly SLA digest – {team.name}, week of {week_start:%d %b %Y}"


@dataclass
class Digest:
    team: Team
    subject: str
    text: str
    html: str
    url: str


def digest_render(*, team: Team, week: tuple[date, date], now: datetime, base_url: str = "") -> Digest:
    """The team's weekly dashboard as an e-mail: the same numbers as the page, for last week against the one before."""
    this = Filters(period="custom", start=week[0], end=week[1], team=team.kind)
    before = Filters(period="custom", start=week[0] - timedelta(days=7), end=week[0], team=team.kind)
    dashboard: Dashboard = dashboard_build(filters=this, now=now, with_scorecards=False)
    previous: Dashboard = dashboard_build(filters=before, now=now, with_scorecards=False)
    open_escalations = Escalation.objects.filter(team=team.kind, status__in=OPEN_ESCALATION).count()
    path = reverse("metrics:team", args=[team.kind])
    url = f"{base_url.rstrip('/')}{path}?{this.querystring(team='')}"
    context = {
        "team": team,
        "week": week,
        "week_last_day": week[1] - timedelta(days=1),
        "funnel": digest_numbers(dashboard=dashboard, previous=previous),
        "kpi_rows": dashboard.kpi_rows_for(team.kind),
        "other_kpi_rows": [r for r in dashboard.kpi_rows if r.target.team.kind != team.kind],
        "family": dashboard.families[team.kind],
        "bottlenecks": dashboard.tables["bottlenecks"],
        "rejections": dashboard.tables["rejections"].rows[:5],
        "churn": dashboard.tables["churn"].rows[:5],
        "open_escalations": open_escalations,
        "url": url,
    }
    subject = digest_title(team, week[0])
    return Digest(
        team=team,
        subject=subject,
        text=render_to_string("metrics/email/digest.txt", context),
        html=render_to_string("metrics/email/digest.html", context),
        url=f"{path}?{this.querystring(team='')}",
    )


def weekly_digest_send(*, now: datetime | None = None) -> int:
    """Monday's digest: for every active team lead of the three teams, an inbox item and an e-mail in the outbox.

    Safe to rerun: a lead who already has this week's digest is skipped; each lead's rows are written in one
    transaction with the lead's user row locked, so two runs at once cannot both write it."""
    now = now or timezone.now()
    week = digest_week(now)
    base_url = getattr(settings, "PORTAL_BASE_URL", "http://127.0.0.1:8000")
    sent = 0
    teams = Team.objects.filter(kind__in=DASHBOARD_TEAMS).order_by("name")
    leads_by_team: dict[int, list[User]] = {}
    for lead in User.objects.filter(role=Role.TEAM_LEAD, is_active=True, team__in=teams).order_by("pk"):
        leads_by_team.setdefault(lead.team_id, []).append(lead)
    for team in teams:
        leads = leads_by_team.get(team.pk, [])
        if not leads:
            continue
        digest = digest_render(team=team, week=week, now=now, base_url=base_url)
        for lead in leads:
            sent += digest_deliver(digest=digest, recipient=lead, now=now)
    return sent


@transaction.atomic
def digest_deliver(*, digest: Digest, recipient: User, now: datetime) -> int:
    """One lead's copy: the inbox notification and its e-mail delivery, together or not at all."""
    User.objects.select_for_update().filter(pk=recipient.pk).first()
    if Notification.objects.filter(recipient=recipient, title=digest.subject[:200], escalation__isnull=True).exists():
        return 0
    notification = Notification.objects.create(
        recipient=recipient,
        title=digest.subject[:200],
        body=digest.text,
        url=digest.url[:255],
        why=DIGEST_WHY.format(team=digest.team.name)[:255],
        created_at=now,
    )
    if recipient.email:
        Delivery.objects.create(
            notification=notification,
            channel=Delivery.Channel.EMAIL,
            target=recipient.email,
            subject=digest.subject[:200],
            body=digest.text,
            html_body=digest.html,
            status=Delivery.Status.PENDING,
            next_attempt_at=now,
            created_at=now,
        )
    return 1


@transaction.atomic
def review_monthly_open(*, month: date, by: User, now: datetime | None = None) -> Review:
    """Open the monthly alignment review of `month` (or return the one already open for it)."""
    if not is_lead_or_head(by):
        raise Forbidden("Only team leads and department heads open an alignment review.")
    now = now or timezone.now()
    start = month_start(month)
    if start >= month_start(timezone.localdate(now)):
        raise InvalidInput({"month": "A month is reviewed once it has ended."})
    end = add_months(start, 1)
    existing = Review.objects.filter(kind=Review.Kind.MONTHLY, period_start=start).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Review.objects.create(
                kind=Review.Kind.MONTHLY,
                agreement=agreement_active(),
                period_start=start,
                period_end=end,
                due_on=end + timedelta(days=14),
                opened_at=now,
            )
    except IntegrityError:  # opened by someone else a moment ago
        return Review.objects.get(kind=Review.Kind.MONTHLY, period_start=start)
