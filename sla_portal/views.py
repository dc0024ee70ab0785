from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render
from django.utils import timezone

from leads.models import Lead, LeadState
from onboarding.models import Membership, MemberState
from sla.models import Agreement, Clock, ClockState


@login_required
def home(request):
    agreement = Agreement.objects.filter(status=Agreement.Status.ACTIVE).prefetch_related("terms__calendar").first()
    now = timezone.now()
    leads = Lead.objects.aggregate(
        prospects=Count("pk", filter=Q(state=LeadState.PROSPECT)),
        mqls=Count("pk", filter=Q(state=LeadState.MQL)),
        sqls=Count("pk", filter=Q(state__in=[LeadState.SQL, LeadState.WORKING])),
    )
    members = Membership.objects.aggregate(active=Count("pk", filter=~Q(state=MemberState.CHURNED)))
    clocks = Clock.objects.aggregate(
        at_risk=Count("pk", filter=Q(state=ClockState.RUNNING, warn_at__lte=now, due_at__gt=now)),
        breached=Count("pk", filter=Q(state=ClockState.BREACHED, stopped_at__isnull=True)),
    )
    stats = [
        {"label": "Prospects", "value": leads["prospects"]},
        {"label": "MQLs waiting for hand-off", "value": leads["mqls"]},
        {"label": "SQLs being worked", "value": leads["sqls"]},
        {"label": "Active members", "value": members["active"]},
        {"label": "Clocks about to breach", "value": clocks["at_risk"]},
        {"label": "Breached, still open", "value": clocks["breached"]},
    ]
    return render(request, "home.html", {"agreement": agreement, "stats": stats})
