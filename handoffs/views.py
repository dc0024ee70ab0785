"""Hand-off screens: Marketing's MQL queue and hand-off form, Outreach's queue with accept / reject and
one-click contact attempts, and the hand-off log. Queue actions answer htmx with the updated row."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import TeamKind
from accounts.roles import is_lead_or_head
from leads import selectors as lead_selectors
from leads.filters import MqlQueueFilter
from leads.forms import AssignForm
from leads.models import Lead, LeadState, RejectReason
from leads.services import lead_update
from sla.views import forbidden, htmx_fragment, next_url, paginate, refused, run_service
from sla_portal.policy import can_act_for_team, can_act_on_lead, can_reassign_for_team, can_view_lead

from . import selectors
from .filters import HandoffFilter, OutreachQueueFilter
from .forms import AttemptForm, HandoffForm, RejectForm
from .models import Handoff
from .services import (
    HANDOFF_READY_STATES,
    attempt_log,
    handoff_accept,
    handoff_create,
    handoff_missing_fields,
    handoff_reject,
    handoffs_paused_reason,
)

QUEUE_REFRESH_TARGET = "queue-rows"


def _lead_or_404(pk: int) -> Lead:
    lead = lead_selectors.lead_get(pk=pk)
    if lead is None:
        raise Http404("No such lead.")
    return lead


# --- Marketing: the MQL queue and the hand-off ---------------------------------------------------------------


@login_required
def mql_queue(request):
    """MQLs waiting for hand-off, the nearest 24 h deadline first, with what each still lacks."""
    filterset = MqlQueueFilter(
        request.GET or None, queryset=lead_selectors.mql_queue(user=request.user), request=request
    )
    page = paginate(request, filterset.qs)
    context = {
        "section": "marketing",
        "filter": filterset,
        "page": page,
        "rows": selectors.mql_rows(page.object_list),
        "now": timezone.now(),
        "paused": handoffs_paused_reason(TeamKind.MARKETING),
        "can_handoff": can_act_for_team(request.user, TeamKind.MARKETING),
        "assign_form": (
            AssignForm(owners=lead_selectors.team_members(TeamKind.MARKETING))
            if can_reassign_for_team(request.user, TeamKind.MARKETING)
            else None
        ),
        "assign_team": TeamKind.MARKETING,
    }
    if request.htmx and request.htmx.target == QUEUE_REFRESH_TARGET:
        return render(request, "handoffs/mql_queue.html#rows", context)
    return render(request, "handoffs/mql_queue.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def handoff_new(request, lead_pk: int):
    lead = _lead_or_404(lead_pk)
    if not can_view_lead(request.user, lead) or not can_act_on_lead(request.user, lead):
        return forbidden(request, "Only Marketing hands its leads off to Outreach.")
    agreement = lead.agreement or lead_selectors.agreement_in_force()
    required = list(agreement.required_handoff_fields) if agreement else []
    missing = handoff_missing_fields(lead=lead, required=required)
    paused = handoffs_paused_reason(TeamKind.MARKETING)
    form = HandoffForm(request.POST or None, outreach=lead_selectors.team_members(TeamKind.OUTREACH), missing=missing)
    status = 200
    if request.method == "POST":
        if form.is_valid():

            def hand_off():
                updates = form.lead_updates()
                if updates:
                    lead_update(lead=lead, by=request.user, **updates)
                return handoff_create(
                    lead=lead, by=request.user, to_user=form.cleaned_data["to_user"], note=form.cleaned_data["note"]
                )

            outcome = run_service(hand_off, form)
            if outcome.ok:
                handoff = outcome.result
                who = handoff.to_user or "the Outreach team"
                gaps = " (recorded as incomplete)" if not handoff.is_complete else ""
                messages.success(request, f"{lead.full_name} handed off to {who}{gaps}.")
                return redirect(next_url(request, reverse("handoffs:mql_queue")))
            status = outcome.status
        else:
            status = 400
    return render(
        request,
        "handoffs/handoff_form.html",
        {
            "section": "marketing",
            "lead": lead,
            "form": form,
            "required": required,
            "missing": missing,
            "paused": paused,
            "ready": lead.state in HANDOFF_READY_STATES,
        },
        status=status,
    )


# --- Outreach: the queue ------------------------------------------------------------------------------------------


def _with_row_forms(lead: Lead) -> Lead:
    lead.attempt_form = AttemptForm(auto_id=f"att{lead.pk}_%s")
    lead.reject_form = RejectForm(auto_id=f"rej{lead.pk}_%s")
    return lead


@login_required
def outreach_queue(request):
    """'My queue': the work Outreach owes, ordered by time left before breach."""
    data = request.GET.copy()
    if "owner" not in data and not is_lead_or_head(request.user):
        data["owner"] = "mine"
    filterset = OutreachQueueFilter(data or None, queryset=selectors.outreach_queue(user=request.user), request=request)
    page = paginate(request, filterset.qs)
    rows = [_with_row_forms(lead) for lead in selectors.queue_rows(page.object_list)]
    context = {
        "section": "outreach",
        "filter": filterset,
        "page": page,
        "rows": rows,
        "now": timezone.now(),
        "can_work": can_act_for_team(request.user, TeamKind.OUTREACH),
        "assign_form": (
            AssignForm(owners=lead_selectors.team_members(TeamKind.OUTREACH))
            if can_reassign_for_team(request.user, TeamKind.OUTREACH)
            else None
        ),
        "assign_team": TeamKind.OUTREACH,
    }
    if request.htmx and request.htmx.target == QUEUE_REFRESH_TARGET:
        return render(request, "handoffs/queue.html#rows", context)
    return render(request, "handoffs/queue.html", context)


def _queue_row(request, lead: Lead, *, status: int = 200, open_form: str = "", form=None):
    """The htmx answer to a queue action: the row as it is now, or a note that the lead left the queue."""
    row = selectors.outreach_queue(user=request.user).filter(pk=lead.pk).first()
    context = {
        "now": timezone.now(),
        "can_work": can_act_for_team(request.user, TeamKind.OUTREACH),
        # the row keeps its checkbox column when a team lead works it, so the table stays aligned
        "assign_form": can_reassign_for_team(request.user, TeamKind.OUTREACH),
    }
    if row is None:
        lead.refresh_from_db()
        context["gone"] = lead
        return htmx_fragment(request, "handoffs/queue.html#gone", context, status=status)
    row = _with_row_forms(selectors.queue_rows([row])[0])
    if form is not None:
        setattr(row, f"{open_form}_form", form)
    context.update({"lead": row, "open_form": open_form})
    return htmx_fragment(request, "handoffs/queue.html#row", context, status=status)


def _pending_handoff_or_404(pk: int) -> Handoff:
    return get_object_or_404(Handoff.objects.select_related("lead", "from_user"), pk=pk, kind=Handoff.Kind.TO_OUTREACH)


@login_required
@require_POST
def accept(request, pk: int):
    handoff = _pending_handoff_or_404(pk)
    lead = handoff.lead
    if not can_view_lead(request.user, lead) or not can_act_on_lead(request.user, lead):
        return forbidden(request, "Only Outreach accepts hand-offs.")
    outcome = run_service(handoff_accept, handoff=handoff, by=request.user)
    back = next_url(request, reverse("handoffs:queue"))
    if outcome.status == 403:
        return forbidden(request, outcome.message)
    if not outcome.ok:
        return refused(request, outcome.message, back=back)
    messages.success(request, f"{lead.full_name} accepted as SQL. Follow-up and decision clocks are running.")
    if request.htmx:
        return _queue_row(request, lead)
    return redirect(back)


@login_required
@require_http_methods(["GET", "POST"])
def reject(request, pk: int):
    handoff = _pending_handoff_or_404(pk)
    lead = handoff.lead
    if not can_view_lead(request.user, lead) or not can_act_on_lead(request.user, lead):
        return forbidden(request, "Only Outreach answers hand-offs.")
    form = RejectForm(request.POST or None, auto_id=f"rej{lead.pk}_%s" if request.htmx else "id_%s")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            outcome = run_service(handoff_reject, form, handoff=handoff, by=request.user, **form.cleaned_data)
            if outcome.ok:
                reason = dict(RejectReason.choices)[form.cleaned_data["reason"]]
                messages.success(request, f"{lead.full_name} sent back to Marketing: {reason.lower()}.")
                if request.htmx:
                    return _queue_row(request, lead)
                return redirect(next_url(request, reverse("handoffs:queue")))
            if outcome.status == 403:
                return forbidden(request, outcome.message)
            status = outcome.status
        else:
            status = 400
        if request.htmx:
            return _queue_row(request, lead, status=status, open_form="reject", form=form)
    elif handoff.status != Handoff.Status.PENDING:
        messages.warning(request, f"This hand-off was already {handoff.get_status_display().lower()}.")
    return render(
        request,
        "handoffs/action_form.html",
        {
            "section": "outreach",
            "lead": lead,
            "handoff": handoff,
            "form": form,
            "title": f"Reject {lead.full_name}",
            "intro": "The lead goes back to Marketing with your reason: it is how lead quality improves.",
            "submit": "Reject and send back",
            "danger": True,
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def attempt(request, lead_pk: int):
    """Log a contact attempt: channel and outcome are preset to the common case, so it is one click."""
    lead = _lead_or_404(lead_pk)
    if not can_view_lead(request.user, lead) or not can_act_on_lead(request.user, lead):
        return forbidden(request, "Only Outreach logs contact attempts on its leads.")
    form = AttemptForm(request.POST or None, auto_id=f"att{lead.pk}_%s" if request.htmx else "id_%s")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            outcome = run_service(attempt_log, form, lead=lead, by=request.user, **form.cleaned_data)
            if outcome.ok:
                made = outcome.result
                messages.success(
                    request,
                    f"Attempt logged for {lead.full_name}: {made.get_channel_display()}, "
                    f"{made.get_outcome_display().lower()}.",
                )
                if request.htmx:
                    return _queue_row(request, lead)
                return redirect(next_url(request, reverse("leads:detail", args=[lead.pk])))
            if outcome.status == 403:
                return forbidden(request, outcome.message)
            status = outcome.status
        else:
            status = 400
        if request.htmx:
            return _queue_row(request, lead, status=status, open_form="attempt", form=form)
    elif lead.state not in (LeadState.SQL, LeadState.WORKING):
        messages.warning(request, "Contact attempts are logged once the hand-off is accepted.")
    return render(
        request,
        "handoffs/action_form.html",
        {
            "section": "outreach",
            "lead": lead,
            "form": form,
            "title": f"Log a contact attempt with {lead.full_name}",
            "intro": "Every attempt counts towards the follow-up commitment.",
            "submit": "Log attempt",
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
        status=status,
    )


# --- the hand-off log -------------------------------------------------------------------------------------------


@login_required
def handoff_list(request):
    filterset = HandoffFilter(request.GET or None, queryset=selectors.handoff_list(user=request.user))
    page = paginate(request, filterset.qs)
    return render(
        request,
        "handoffs/handoff_list.html",
        {"section": "outreach", "filter": filterset, "page": page, "rows": list(page.object_list)},
    )
