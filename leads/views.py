"""Marketing's screens (all leads, the feedback loop, new and edited leads, touchpoints) and the lead
detail page every team opens. Permissions come from sla_portal.policy; writes go through leads.services."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import TeamKind
from sla.views import forbidden, next_url, paginate, refused, run_service
from sla_portal.policy import (
    can_act_for_team,
    can_act_on_lead,
    can_reassign_for_team,
    can_view_lead,
    leads_visible,
)

from . import selectors
from .filters import FeedbackFilter, LeadFilter
from .forms import AssignForm, DisqualifyForm, LeadForm, RecycleForm, TouchpointForm
from .models import Lead, LeadState
from .services import (
    QUALIFIABLE_STATES,
    lead_assign,
    lead_create,
    lead_disqualify,
    lead_meets_mql,
    lead_qualify,
    lead_recycle,
    lead_update,
    touchpoint_record,
)

FEEDBACK_WINDOW = timedelta(days=90)
RECYCLABLE = frozenset({LeadState.MQL, LeadState.REJECTED, LeadState.SQL, LeadState.WORKING})
DISQUALIFIABLE = frozenset(
    {LeadState.PROSPECT, LeadState.MQL, LeadState.REJECTED, LeadState.SQL, LeadState.WORKING, LeadState.RECYCLED}
)


def _lead_or_404(pk: int) -> Lead:
    lead = selectors.lead_get(pk=pk)
    if lead is None:
        raise Http404("No such lead.")
    return lead


# --- lists -----------------------------------------------------------------------------------------------


@login_required
def lead_list(request):
    """Prospects and MQLs with score, IMP fit and touchpoints; for prospects, what still keeps them from MQL."""
    filterset = LeadFilter(request.GET or None, queryset=selectors.lead_list(user=request.user), request=request)
    page = paginate(request, filterset.qs)
    agreement = selectors.agreement_in_force()
    rows = list(page.object_list)
    for lead in rows:
        lead.gaps = (
            lead_meets_mql(lead=lead, agreement=agreement) if agreement and lead.state in QUALIFIABLE_STATES else []
        )
    can_assign = can_reassign_for_team(request.user, TeamKind.MARKETING)
    return render(
        request,
        "leads/lead_list.html",
        {
            "section": "marketing",
            "filter": filterset,
            "page": page,
            "rows": rows,
            "agreement": agreement,
            "can_create": can_act_for_team(request.user, TeamKind.MARKETING),
            "assign_form": AssignForm(owners=selectors.team_members(TeamKind.MARKETING)) if can_assign else None,
            "assign_team": TeamKind.MARKETING,
        },
    )


@login_required
def feedback(request):
    """The feedback loop: leads Outreach rejected or recycled, with their reason codes and notes."""
    filterset = FeedbackFilter(request.GET or None, queryset=selectors.feedback_list(user=request.user))
    page = paginate(request, filterset.qs)
    rows = selectors.return_events_attach(page.object_list)
    since = timezone.now() - FEEDBACK_WINDOW
    return render(
        request,
        "leads/feedback.html",
        {
            "section": "marketing",
            "filter": filterset,
            "page": page,
            "rows": rows,
            "summary": selectors.feedback_summary(user=request.user, since=since),
            "since": since,
            "can_act": can_act_for_team(request.user, TeamKind.MARKETING),
        },
    )


# --- create and edit ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def lead_new(request):
    if not can_act_for_team(request.user, TeamKind.MARKETING):
        return forbidden(request, "Only Marketing adds prospects.")
    form = LeadForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            outcome = run_service(lead_create, form, by=request.user, owner=request.user, **data)
            if outcome.ok:
                messages.success(request, f"{outcome.result.full_name} added as a prospect.")
                return redirect("leads:detail", pk=outcome.result.pk)
            status = outcome.status
        else:
            status = 400
    return render(request, "leads/lead_form.html", {"section": "marketing", "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def lead_edit(request, pk: int):
    lead = _lead_or_404(pk)
    if not can_act_on_lead(request.user, lead):
        return forbidden(request, f"{lead.full_name} is worked by another team now.")
    initial = {name: getattr(lead, name) for name in LeadForm().fields}
    form = LeadForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            outcome = run_service(lead_update, form, lead=lead, by=request.user, **form.changed_values())
            if outcome.ok:
                messages.success(request, "Lead updated.")
                return redirect(next_url(request, reverse("leads:detail", args=[lead.pk])))
            status = outcome.status
        else:
            status = 400
    return render(
        request,
        "leads/lead_form.html",
        {"section": "marketing", "form": form, "lead": lead, "next": request.GET.get("next", "")},
        status=status,
    )


# --- the lead detail page ------------------------------------------------------------------------------------


@login_required
def lead_detail(request, pk: int):
    lead = _lead_or_404(pk)
    if not can_view_lead(request.user, lead):
        return forbidden(request, "This lead is not visible to your team.")
    now = timezone.now()
    timeline = selectors.lead_timeline(lead=lead, now=now)
    can_act = can_act_on_lead(request.user, lead)
    can_assign = can_reassign_for_team(request.user, lead.team) and lead.state not in {
        LeadState.CONVERTED,
        LeadState.DISQUALIFIED,
    }
    agreement = lead.agreement or selectors.agreement_in_force()
    gaps = lead_meets_mql(lead=lead, agreement=agreement) if agreement and lead.state in QUALIFIABLE_STATES else []
    return render(
        request,
        "leads/lead_detail.html",
        {
            "section": {"marketing": "marketing", "outreach": "outreach"}.get(lead.team, "members"),
            "lead": lead,
            "now": now,
            "t": timeline,
            "gaps": gaps,
            "agreement": agreement,
            "can_act": can_act,
            "can_touch": can_act_for_team(request.user, TeamKind.MARKETING),
            "can_recycle": can_act and lead.state in RECYCLABLE,
            "can_disqualify": can_act and lead.state in DISQUALIFIABLE,
            "recycle_form": RecycleForm(),
            "disqualify_form": DisqualifyForm(),
            "touchpoint_form": TouchpointForm(),
            "assign_form": (
                AssignForm(owners=selectors.team_members(lead.team), initial={"owner": lead.owner_id})
                if can_assign
                else None
            ),
        },
    )


# --- actions on one lead ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def touchpoint_add(request, pk: int):
    lead = _lead_or_404(pk)
    if not can_act_for_team(request.user, TeamKind.MARKETING) or not can_view_lead(request.user, lead):
        return forbidden(request, "Only Marketing records touchpoints.")
    form = TouchpointForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            before = lead.state
            outcome = run_service(touchpoint_record, form, lead=lead, by=request.user, **form.cleaned_data)
            if outcome.ok:
                lead.refresh_from_db()
                if before != lead.state and lead.state == LeadState.MQL:
                    messages.success(request, f"Touchpoint recorded: {lead.full_name} now qualifies as an MQL.")
                else:
                    messages.success(request, f"Touchpoint recorded; score now {lead.score}.")
                return redirect("leads:detail", pk=lead.pk)
            status = outcome.status
        else:
            status = 400
    return render(
        request,
        "leads/action_form.html",
        {
            "section": "marketing",
            "lead": lead,
            "form": form,
            "title": "Record a touchpoint",
            "submit": "Record touchpoint",
        },
        status=status,
    )


@login_required
@require_POST
def lead_qualify_view(request, pk: int):
    lead = _lead_or_404(pk)
    if not can_act_on_lead(request.user, lead):
        return forbidden(request, "Only Marketing qualifies leads.")
    outcome = run_service(lead_qualify, lead=lead, by=request.user)
    back = reverse("leads:detail", args=[lead.pk])
    if outcome.status == 403:
        return forbidden(request, outcome.message)
    if not outcome.ok:
        return refused(request, outcome.message, back=back)
    messages.success(request, f"{lead.full_name} qualifies as an MQL; the 24 h hand-off clock is running.")
    return redirect(back)


def _reason_action(request, pk: int, *, form_class, service, allowed_states, verb: str, done: str):
    """Recycle and disqualify share a shape: a coded reason and a note, from the team working the lead."""
    lead = _lead_or_404(pk)
    if not can_view_lead(request.user, lead) or not can_act_on_lead(request.user, lead):
        return forbidden(request, f"Only the team working this lead can {verb} it.")
    form = form_class(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            outcome = run_service(service, form, lead=lead, by=request.user, **form.cleaned_data)
            if outcome.ok:
                messages.success(request, f"{lead.full_name} {done}.")
                return redirect(next_url(request, reverse("leads:detail", args=[lead.pk])))
            status = outcome.status
        else:
            status = 400
    elif lead.state not in allowed_states:
        messages.warning(request, f"A lead that is {lead.get_state_display().lower()} cannot be {done.split()[0]}.")
    return render(
        request,
        "leads/action_form.html",
        {
            "section": {"marketing": "marketing", "outreach": "outreach"}.get(lead.team, "marketing"),
            "lead": lead,
            "form": form,
            "title": f"{verb.capitalize()} {lead.full_name}",
            "submit": verb.capitalize(),
            "danger": True,
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def lead_recycle_view(request, pk: int):
    return _reason_action(
        request,
        pk,
        form_class=RecycleForm,
        service=lead_recycle,
        allowed_states=RECYCLABLE,
        verb="recycle",
        done="recycled to Marketing's nurture",
    )


@login_required
@require_http_methods(["GET", "POST"])
def lead_disqualify_view(request, pk: int):
    return _reason_action(
        request,
        pk,
        form_class=DisqualifyForm,
        service=lead_disqualify,
        allowed_states=DISQUALIFIABLE,
        verb="disqualify",
        done="disqualified",
    )


# --- reassigning (team leads) -----------------------------------------------------------------------------------


@login_required
@require_POST
def leads_assign(request):
    """Bulk assign for team leads: every lead is checked first, then all change or none does."""
    team = request.POST.get("team", "")
    if team not in TeamKind.values or not can_reassign_for_team(request.user, team):
        return forbidden(request, "Only team leads reassign their team's work.")
    back = next_url(request, reverse("leads:list"))
    form = AssignForm(request.POST, owners=selectors.team_members(team))
    if not form.is_valid():
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        return refused(request, " ".join(errors), back=back, status=400)
    ids = form.cleaned_data["ids"]
    leads = list(leads_visible(request.user).filter(pk__in=ids))
    if len(leads) != len(ids) or any(not can_reassign_for_team(request.user, lead.team) for lead in leads):
        return forbidden(request, "You can only reassign work your team is doing now.")
    owner = form.cleaned_data["owner"]

    def assign_all():
        for lead in leads:
            lead_assign(lead=lead, owner=owner, by=request.user)

    outcome = run_service(assign_all)
    if outcome.status == 403:
        return forbidden(request, outcome.message)
    if not outcome.ok:
        return refused(request, f"Nothing was reassigned: {outcome.message}", back=back, status=outcome.status)
    who = owner or "nobody"
    messages.success(request, f"{len(leads)} lead{'s' if len(leads) != 1 else ''} assigned to {who}.")
    return redirect(back)
