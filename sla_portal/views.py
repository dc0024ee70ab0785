from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import Count, Q
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import TeamKind
from accounts.roles import is_lead_or_head, team_kind
from leads.models import Lead, LeadState
from onboarding.models import Membership, MemberState
from sla.models import Agreement, Clock, ClockState
from sla.views import forbidden

# Where each team's people land after signing in: the queue their work comes from.
WORKSPACE_HOMES = {
    TeamKind.MARKETING: "handoffs:mql_queue",
    TeamKind.OUTREACH: "handoffs:queue",
    TeamKind.MEMBER_SUCCESS: "onboarding:queue",
}


def workspaces_for(user) -> list[tuple[str, str]]:
    """Team leads and department heads switch between the three teams' views; staff stay in their own."""
    if not is_lead_or_head(user):
        return []
    return [(kind.value, kind.label) for kind in WORKSPACE_HOMES]


def current_workspace(request) -> str | None:
    chosen = request.session.get("workspace")
    if chosen and chosen in dict(workspaces_for(request.user)):
        return chosen
    kind = team_kind(request.user)
    return kind if kind in WORKSPACE_HOMES else None


@login_required
def home(request):
    """Land on the team's queue; people without a team queue (admins, RevOps) get the overview."""
    workspace = current_workspace(request)
    if workspace:
        return redirect(WORKSPACE_HOMES[workspace])
    return overview(request)


@login_required
@require_POST
def workspace_switch(request):
    workspace = request.POST.get("workspace", "")
    if workspace not in dict(workspaces_for(request.user)):
        return forbidden(request, "Only team leads and department heads switch between the teams' views.")
    request.session["workspace"] = workspace
    return redirect(WORKSPACE_HOMES[workspace])


@login_required
def overview(request):
    agreement = Agreement.objects.filter(status=Agreement.Status.ACTIVE).prefetch_related("terms__calendar").first()
    now = timezone.now()
    leads = Lead.objects.aggregate(
        prospects=Count("pk", filter=Q(state=LeadState.PROSPECT)),
        mqls=Count("pk", filter=Q(state=LeadState.MQL)),
        sqls=Count("pk", filter=Q(state__in=[LeadState.SQL, LeadState.WORKING])),
        pending=Count("pk", filter=Q(state=LeadState.HANDED_OFF)),
    )
    members = Membership.objects.aggregate(
        active=Count("pk", filter=~Q(state=MemberState.CHURNED)),
        waiting=Count("pk", filter=Q(state__in=[MemberState.SIGNED, MemberState.ONBOARDING])),
    )
    clocks = Clock.objects.aggregate(
        at_risk=Count("pk", filter=Q(state=ClockState.RUNNING, warn_at__lte=now, due_at__gt=now)),
        breached=Count("pk", filter=Q(state=ClockState.BREACHED, stopped_at__isnull=True)),
        mine=Count(
            "pk",
            filter=Q(owner=request.user, state__in=[ClockState.RUNNING, ClockState.BREACHED], stopped_at__isnull=True)
            & Q(warn_at__lte=now),
        ),
    )
    stats = [
        {"label": "Prospects", "value": leads["prospects"], "url": "leads:list", "query": "?state=prospect"},
        {"label": "MQLs waiting for hand-off", "value": leads["mqls"], "url": "handoffs:mql_queue", "query": ""},
        {
            "label": "Hand-offs waiting for Outreach",
            "value": leads["pending"],
            "url": "handoffs:queue",
            "query": "?owner=&state=handed_off",
        },
        {"label": "SQLs being worked", "value": leads["sqls"], "url": "handoffs:queue", "query": "?owner="},
        {
            "label": "New members waiting for onboarding",
            "value": members["waiting"],
            "url": "onboarding:queue",
            "query": "",
        },
        {"label": "Active members", "value": members["active"], "url": "onboarding:list", "query": ""},
        {"label": "Clocks about to breach", "value": clocks["at_risk"], "tone": "warn" if clocks["at_risk"] else ""},
        {
            "label": "Breached, still open",
            "value": clocks["breached"],
            "tone": "bad" if clocks["breached"] else "",
            "url": "sla:escalations",
            "query": "",
        },
        {"label": "My items warning or overdue", "value": clocks["mine"], "tone": "warn" if clocks["mine"] else ""},
    ]
    return render(request, "home.html", {"agreement": agreement, "stats": stats, "section": "overview"})


def healthz(request):
    """Liveness for the load balancer and docker-compose: the app answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
