"""Member Success's screens (onboarding queue, checklist, engagement 30/60/90, at risk, renewals, churn),
the conversion of an SQL into a member, and the flags Outreach and Marketing receive from Member Success."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import TeamKind
from accounts.roles import team_kind
from leads import selectors as lead_selectors
from leads.forms import AssignForm
from leads.models import LeadState
from sla.views import forbidden, htmx_fragment, next_url, paginate, refused, run_service
from sla_portal.policy import (
    can_act_for_team,
    can_act_on_lead,
    can_act_on_membership,
    can_reassign_for_team,
    can_view_lead,
    memberships_visible,
)

from . import selectors
from .filters import AtRiskFilter, EngagementFilter, FlagFilter, MemberFilter, OnboardingFilter, RenewalFilter
from .forms import ChurnForm, ConvertForm, EngagementForm, FlagResolveForm, RenewForm
from .models import FlagKind, Membership, MembershipFlag, MemberState, OnboardingStep
from .services import (
    engagement_record,
    lead_convert,
    membership_assign,
    membership_churn,
    membership_flag,
    membership_flag_resolve,
    membership_mark_renewal_eligible,
    membership_renew,
    onboarding_start,
    onboarding_task_complete,
)

SECTION = "members"
REFRESH_TARGET = "queue-rows"
UPCOMING_RENEWAL_DAYS = 90


def _member_or_404(pk: int) -> Membership:
    membership = selectors.member_get(pk=pk)
    if membership is None:
        raise Http404("No such member.")
    return membership


def _assign_form(request):
    if can_reassign_for_team(request.user, TeamKind.MEMBER_SUCCESS):
        return AssignForm(owners=lead_selectors.team_members(TeamKind.MEMBER_SUCCESS))
    return None


def _list_context(request, filterset, page, rows, **extra) -> dict:
    return {
        "section": SECTION,
        "filter": filterset,
        "page": page,
        "rows": rows,
        "now": timezone.now(),
        "can_work": can_act_for_team(request.user, TeamKind.MEMBER_SUCCESS),
        "assign_form": _assign_form(request),
        **extra,
    }


# --- lists ---------------------------------------------------------------------------------------------------


@login_required
def member_list(request):
    filterset = MemberFilter(request.GET or None, queryset=selectors.member_list(user=request.user), request=request)
    page = paginate(request, filterset.qs)
    rows = selectors.member_rows(page.object_list)
    return render(request, "onboarding/member_list.html", _list_context(request, filterset, page, rows))


@login_required
def onboarding_queue(request):
    """New members waiting for onboarding: their clocks and checklist, the nearest deadline first."""
    filterset = OnboardingFilter(
        request.GET or None, queryset=selectors.onboarding_queue(user=request.user), request=request
    )
    page = paginate(request, filterset.qs)
    rows = selectors.member_rows(page.object_list)
    context = _list_context(request, filterset, page, rows, steps=OnboardingStep.choices)
    if request.htmx and request.htmx.target == REFRESH_TARGET:
        return render(request, "onboarding/onboarding_queue.html#rows", context)
    return render(request, "onboarding/onboarding_queue.html", context)


@login_required
def engagement(request):
    """Engagement in the first 30/60/90 days after signing, against the agreement's 'engaged' threshold."""
    filterset = EngagementFilter(
        request.GET or None, queryset=selectors.engagement_list(user=request.user), request=request
    )
    page = paginate(request, filterset.qs)
    now = timezone.now()
    rows = selectors.engagement_rows(page.object_list, now=now)
    agreement = lead_selectors.agreement_in_force()
    return render(
        request,
        "onboarding/engagement.html",
        _list_context(request, filterset, page, rows, agreement=agreement, windows=selectors.ENGAGEMENT_WINDOWS),
    )


@login_required
def at_risk(request):
    """Members with low recent engagement, each one click away from Outreach (upsell) or Marketing (nurture)."""
    now = timezone.now()
    filterset = AtRiskFilter(
        request.GET or None, queryset=selectors.at_risk_list(user=request.user, now=now), request=request
    )
    page = paginate(request, filterset.qs)
    rows = list(page.object_list)
    for m in rows:
        m.open_kinds = {f.kind for f in m.open_flags}
    return render(
        request,
        "onboarding/at_risk.html",
        _list_context(
            request,
            filterset,
            page,
            rows,
            window_days=selectors.AT_RISK_WINDOW_DAYS,
            after_days=selectors.AT_RISK_AFTER_DAYS,
            agreement=lead_selectors.agreement_in_force(),
        ),
    )


@login_required
def renewals(request):
    scope = request.GET.get("scope") or "eligible"
    upcoming = UPCOMING_RENEWAL_DAYS if scope == "upcoming" else None
    now = timezone.now()
    filterset = RenewalFilter(
        request.GET or None,
        queryset=selectors.renewal_list(user=request.user, now=now, upcoming_days=upcoming),
        request=request,
    )
    page = paginate(request, filterset.qs)
    rows = selectors.member_rows(page.object_list)
    return render(
        request,
        "onboarding/renewals.html",
        _list_context(request, filterset, page, rows, scope=scope, upcoming_days=UPCOMING_RENEWAL_DAYS),
    )


@login_required
def flags(request):
    """Flags from Member Success: Outreach sees its upsell chances, Marketing its nurture list."""
    data = request.GET.copy()
    kind = team_kind(request.user)
    if "to_team" not in data and kind in {TeamKind.OUTREACH, TeamKind.MARKETING}:
        data["to_team"] = kind
    if "status" not in data:
        data["status"] = MembershipFlag.Status.OPEN
    filterset = FlagFilter(data, queryset=selectors.flag_list(user=request.user))
    page = paginate(request, filterset.qs)
    rows = list(page.object_list)
    for flag in rows:
        flag.can_resolve = flag.status == MembershipFlag.Status.OPEN and can_act_for_team(request.user, flag.to_team)
    section = {TeamKind.OUTREACH: "outreach", TeamKind.MARKETING: "marketing"}.get(data.get("to_team"), SECTION)
    return render(
        request,
        "onboarding/flags.html",
        {"section": section, "filter": filterset, "page": page, "rows": rows, "resolve_form": FlagResolveForm()},
    )


# --- the member detail page -------------------------------------------------------------------------------------


def _detail_context(request, membership: Membership, **extra) -> dict:
    now = timezone.now()
    can_act = can_act_on_membership(request.user, membership)
    return {
        "section": SECTION,
        "m": membership,
        "now": now,
        "t": selectors.member_timeline(membership=membership, now=now),
        "can_act": can_act and membership.state != MemberState.CHURNED,
        "can_assign": can_reassign_for_team(request.user, TeamKind.MEMBER_SUCCESS),
        "assign_form": _assign_form(request),
        "engagement_form": EngagementForm(),
        "flag_kinds": FlagKind.choices,
        "contract": (membership.handoff.context if membership.handoff else {}) or {},
        **extra,
    }


@login_required
def member_detail(request, pk: int):
    membership = _member_or_404(pk)
    if not memberships_visible(request.user).filter(pk=membership.pk).exists():
        return forbidden(request, "This member is not visible to you.")
    return render(request, "onboarding/member_detail.html", _detail_context(request, membership))


# --- Outreach converts an SQL ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def convert(request, lead_pk: int):
    lead = lead_selectors.lead_get(pk=lead_pk)
    if lead is None:
        raise Http404("No such lead.")
    if not can_view_lead(request.user, lead) or not can_act_on_lead(request.user, lead):
        return forbidden(request, "Only Outreach converts its SQLs into members.")
    form = ConvertForm(request.POST or None, owners=lead_selectors.team_members(TeamKind.MEMBER_SUCCESS))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            outcome = run_service(lead_convert, form, lead=lead, by=request.user, **form.cleaned_data)
            if outcome.ok:
                member = outcome.result
                messages.success(
                    request,
                    f"{member.organisation} signed as a {member.get_membership_type_display().lower()} member and "
                    f"handed to {member.owner or 'the Member Success team'}.",
                )
                return redirect(next_url(request, reverse("handoffs:queue")))
            status = outcome.status
        else:
            status = 400
    elif lead.state not in (LeadState.SQL, LeadState.WORKING):
        messages.warning(request, "Only accepted SQLs can be converted.")
    return render(
        request, "onboarding/convert.html", {"section": "outreach", "lead": lead, "form": form}, status=status
    )


# --- actions on a member ---------------------------------------------------------------------------------------------


def _member_for_action(request, pk: int):
    membership = _member_or_404(pk)
    if not can_act_on_membership(request.user, membership):
        return membership, forbidden(request, "Only Member Success works on members.")
    return membership, None


def _back(request, membership: Membership) -> str:
    return next_url(request, reverse("onboarding:detail", args=[membership.pk]))


@login_required
@require_POST
def task_done(request, pk: int, step: str):
    """Tick a checklist step; the first tick starts onboarding, the welcome step makes the member onboarded."""
    membership, denied = _member_for_action(request, pk)
    if denied:
        return denied
    outcome = run_service(onboarding_task_complete, membership=membership, by=request.user, step=step)
    if not outcome.ok:
        return refused(request, outcome.message, back=_back(request, membership), status=outcome.status)
    task = outcome.result
    membership.refresh_from_db()
    done = f"{task.get_step_display()} done for {membership.organisation}"
    if membership.state == MemberState.ONBOARDED or membership.state == MemberState.ENGAGED:
        done += f"; {membership.organisation} is now {membership.get_state_display().lower()}"
    messages.success(request, f"{done}.")
    if request.htmx:
        return _member_fragment(request, membership)
    return redirect(_back(request, membership))


def _member_fragment(request, membership: Membership):
    """htmx: the queue row when the action came from the onboarding queue, else the detail's checklist."""
    if request.POST.get("from") == "queue":
        row = selectors.onboarding_queue(user=request.user).filter(pk=membership.pk).first()
        context = {
            "now": timezone.now(),
            "can_work": True,
            "steps": OnboardingStep.choices,
            "assign_form": can_reassign_for_team(request.user, TeamKind.MEMBER_SUCCESS),
        }
        if row is None:
            context["gone"] = membership
            return htmx_fragment(request, "onboarding/onboarding_queue.html#gone", context)
        context["m"] = selectors.member_rows([row])[0]
        return htmx_fragment(request, "onboarding/onboarding_queue.html#row", context)
    membership = _member_or_404(membership.pk)
    return htmx_fragment(request, "onboarding/member_detail.html#work", _detail_context(request, membership))


@login_required
@require_POST
def begin(request, pk: int):
    membership, denied = _member_for_action(request, pk)
    if denied:
        return denied
    outcome = run_service(onboarding_start, membership=membership, by=request.user)
    if not outcome.ok:
        return refused(request, outcome.message, back=_back(request, membership), status=outcome.status)
    messages.success(request, f"Onboarding started for {membership.organisation}.")
    if request.htmx:
        return _member_fragment(request, membership)
    return redirect(_back(request, membership))


@login_required
@require_http_methods(["GET", "POST"])
def engagement_add(request, pk: int):
    membership, denied = _member_for_action(request, pk)
    if denied:
        return denied
    form = EngagementForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            outcome = run_service(engagement_record, form, membership=membership, by=request.user, **form.cleaned_data)
            if outcome.ok:
                messages.success(request, f"{outcome.result.get_kind_display()} recorded (+{outcome.result.points}).")
                return redirect(_back(request, membership))
            status = outcome.status
        else:
            status = 400
    return render(
        request,
        "onboarding/action_form.html",
        {
            "section": SECTION,
            "m": membership,
            "form": form,
            "title": f"Record engagement for {membership.organisation}",
            "submit": "Record",
        },
        status=status,
    )


@login_required
@require_POST
def flag(request, pk: int):
    """One click: raise the member to Outreach (upsell) or Marketing (nurture)."""
    membership, denied = _member_for_action(request, pk)
    if denied:
        return denied
    kind = request.POST.get("kind", "")
    outcome = run_service(
        membership_flag, membership=membership, by=request.user, kind=kind, note=request.POST.get("note", "")
    )
    if not outcome.ok:
        return refused(request, outcome.message, back=_back(request, membership), status=outcome.status)
    made = outcome.result
    team = "Outreach" if made.to_team == TeamKind.OUTREACH else "Marketing"
    messages.success(request, f"{membership.organisation} flagged to {team}.")
    if request.htmx:
        membership.open_flags = list(membership.flags.filter(status=MembershipFlag.Status.OPEN).order_by("created_at"))
        membership.open_kinds = {f.kind for f in membership.open_flags}
        return htmx_fragment(request, "onboarding/at_risk.html#flags", {"m": membership, "can_work": True})
    return redirect(_back(request, membership))


@login_required
@require_POST
def flag_resolve(request, pk: int):
    flag_row = get_object_or_404(MembershipFlag.objects.select_related("membership"), pk=pk)
    if not can_act_for_team(request.user, flag_row.to_team):
        return forbidden(request, "Only the team the member was flagged to closes the flag.")
    form = FlagResolveForm(request.POST)
    form.is_valid()
    outcome = run_service(
        membership_flag_resolve, flag=flag_row, by=request.user, note=form.cleaned_data.get("note", "")
    )
    back = next_url(request, reverse("onboarding:flags"))
    if not outcome.ok:
        return refused(request, outcome.message, back=back, status=outcome.status)
    messages.success(request, f"Flag on {flag_row.membership.organisation} marked as handled.")
    return redirect(back)


def _member_form_action(request, pk: int, *, form_class, title: str, submit: str, call, done, danger=False):
    membership, denied = _member_for_action(request, pk)
    if denied:
        return denied
    form = form_class(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            outcome = run_service(call, form, membership=membership, by=request.user, **form.cleaned_data)
            if outcome.ok:
                messages.success(request, done(membership))
                return redirect(_back(request, membership))
            status = outcome.status
        else:
            status = 400
    return render(
        request,
        "onboarding/action_form.html",
        {"section": SECTION, "m": membership, "form": form, "title": title, "submit": submit, "danger": danger},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def churn(request, pk: int):
    return _member_form_action(
        request,
        pk,
        form_class=ChurnForm,
        title="Record churn",
        submit="Record churn",
        call=membership_churn,
        done=lambda m: f"{m.organisation} recorded as churned; the reason goes back to Marketing and Outreach.",
        danger=True,
    )


@login_required
@require_http_methods(["GET", "POST"])
def renew(request, pk: int):
    def call(*, membership, by, new_term_end, contract_value):
        return membership_renew(membership=membership, by=by, new_term_end=new_term_end, contract_value=contract_value)

    return _member_form_action(
        request,
        pk,
        form_class=RenewForm,
        title="Renew membership",
        submit="Renew",
        call=call,
        done=lambda m: f"{m.organisation} renewed.",
    )


@login_required
@require_POST
def renewal_eligible(request, pk: int):
    membership, denied = _member_for_action(request, pk)
    if denied:
        return denied
    outcome = run_service(membership_mark_renewal_eligible, membership=membership, by=request.user)
    if not outcome.ok:
        return refused(request, outcome.message, back=_back(request, membership), status=outcome.status)
    messages.success(request, f"{membership.organisation} is renewal eligible; the renewal outreach clock started.")
    return redirect(_back(request, membership))


@login_required
@require_POST
def members_assign(request):
    """Bulk assign for Member Success's team lead: all rows change or none does."""
    if not can_reassign_for_team(request.user, TeamKind.MEMBER_SUCCESS):
        return forbidden(request, "Only Member Success's team lead reassigns members.")
    back = next_url(request, reverse("onboarding:list"))
    form = AssignForm(request.POST, owners=lead_selectors.team_members(TeamKind.MEMBER_SUCCESS))
    if not form.is_valid():
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        return refused(request, " ".join(errors), back=back, status=400)
    ids = form.cleaned_data["ids"]
    members = list(memberships_visible(request.user).filter(pk__in=ids))
    if len(members) != len(ids):
        return forbidden(request, "Some of the selected members are not visible to you.")
    owner = form.cleaned_data["owner"]

    def assign_all():
        for membership in members:
            membership_assign(membership=membership, owner=owner, by=request.user)

    outcome = run_service(assign_all)
    if not outcome.ok:
        return refused(request, f"Nothing was reassigned: {outcome.message}", back=back, status=outcome.status)
    messages.success(
        request, f"{len(members)} member{'s' if len(members) != 1 else ''} assigned to {owner or 'nobody'}."
    )
    return redirect(back)
