"""Escalation, plan and inbox screens, and the screen helpers every app's views share.

The helpers keep one contract for all work screens: a forbidden action answers 403 and changes nothing;
a refused one (DomainError) answers 409 with the service's message; bad input answers 400 with the
messages next to the fields; htmx requests get the same answers as fragments plus an out-of-band flash."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.roles import can_accept_plan, can_handle_escalation, team_kind
from sla_portal.errors import DomainError, Forbidden, InvalidInput

from .escalations import (
    escalation_acknowledge,
    escalation_resolve,
    notification_mark_read,
    notifications_mark_all_read,
    plan_accept,
    plan_submit,
)
from .forms import (
    EscalationFilter,
    EscalationResolveForm,
    NotificationFilter,
    PlanFilter,
    PlanSubmitForm,
    form_add_service_errors,
)
from .models import Clock, Escalation, Notification, Plan

PAGE_SIZE = 25


# --- screen helpers ------------------------------------------------------------------------------------


def forbidden(request: HttpRequest, message: str = "You are not allowed to do this.") -> HttpResponse:
    """403 and nothing changed: a page for browsers, a flash for htmx (the swap target stays as it was)."""
    if getattr(request, "htmx", False):
        messages.error(request, message)
        response = HttpResponse(render_to_string("partials/flash_oob.html", {}, request), status=403)
        response["HX-Reswap"] = "none"
        return response
    return render(request, "partials/forbidden.html", {"message": message}, status=403)


def refused(request: HttpRequest, message: str, *, back: str, status: int = 409) -> HttpResponse:
    """A one-click action the lifecycle refused: say why, change nothing, keep the user where they were."""
    messages.error(request, message)
    if getattr(request, "htmx", False):
        response = HttpResponse(render_to_string("partials/flash_oob.html", {}, request), status=status)
        response["HX-Reswap"] = "none"
        return response
    return redirect(back)


def htmx_fragment(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """A partial for an htmx swap, with the pending flash messages swapped in out of band."""
    body = render_to_string(template, context, request) + render_to_string("partials/flash_oob.html", {}, request)
    return HttpResponse(body, status=status)


def next_url(request: HttpRequest, default: str) -> str:
    """Where to go back to after an action: a same-site `next` if given, else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return default


def paginate(request: HttpRequest, queryset, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


@dataclass
class Outcome:
    result: Any = None
    status: int = 200
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status < 400


def run_service(fn: Callable[..., Any], form=None, field_map: dict[str, str] | None = None, **kwargs) -> Outcome:
    """Call a service atomically and turn its refusals into an Outcome (never a 500).

    InvalidInput goes onto `form`'s fields (400), Forbidden is 403, any other DomainError (an illegal
    transition, a paused team) becomes the form's top message (409)."""
    try:
        with transaction.atomic():
            return Outcome(result=fn(**kwargs))
    except Forbidden as exc:
        return Outcome(status=403, message=exc.message)
    except InvalidInput as exc:
        if form is not None:
            form_add_service_errors(form, exc, field_map)
        return Outcome(status=400, message=exc.message)
    except DomainError as exc:
        if form is not None:
            form.add_error(None, exc.message)
        return Outcome(status=409, message=exc.message)


# --- escalations, plans and the inbox ---------------------------------------------------------------------------

SUBJECT_URLS = {
    ("leads", "lead"): "leads:detail",
    ("onboarding", "membership"): "onboarding:detail",
    ("sla", "plan"): "sla:plan_detail",
}


def subject_url(clock: Clock | None) -> str:
    """Clocks point at their subject by type and id: a lead, a member or a plan page."""
    if clock is None:
        return ""
    name = SUBJECT_URLS.get((clock.subject_type.app_label, clock.subject_type.model))
    return reverse(name, args=[clock.subject_id]) if name else ""


def _escalations_visible(user: User):
    """Heads see every escalation; others their team's, the ones they own, and the ones they were told about."""
    qs = Escalation.objects.all()
    if user.sees_all_teams:
        return qs
    told = Notification.objects.filter(escalation=OuterRef("pk"), recipient=user)
    return qs.filter(Q(team=team_kind(user) or "") | Q(owner=user) | Q(Exists(told)))


def _plans_visible(user: User):
    qs = Plan.objects.all()
    if user.sees_all_teams:
        return qs
    return qs.filter(Q(team__kind=team_kind(user) or "") | Q(owner=user))


@login_required
def escalation_list(request):
    data = request.GET.copy()
    data.setdefault("status", "active")
    queryset = (
        _escalations_visible(request.user)
        .select_related("owner", "clock__subject_type", "plan")
        .order_by("-created_at", "-pk")
    )
    filterset = EscalationFilter(data, queryset=queryset, request=request)
    page = paginate(request, filterset.qs)
    rows = list(page.object_list)
    for esc in rows:
        esc.subject_url = subject_url(esc.clock) or esc.url
        esc.plan_row = getattr(esc, "plan", None) if _has_plan(esc) else None
    return render(
        request,
        "sla/escalation_list.html",
        {"section": "sla", "filter": filterset, "page": page, "rows": rows, "now": timezone.now()},
    )


def _has_plan(escalation: Escalation) -> bool:
    try:
        escalation.plan  # noqa: B018 - the reverse one-to-one (already joined) is the check
    except Plan.DoesNotExist:
        return False
    return True


def _escalation_or_404(request, pk: int) -> Escalation:
    return get_object_or_404(
        Escalation.objects.select_related(
            "owner", "resolved_by", "agreement", "clock__subject_type", "clock__owner", "kpi_result__target", "plan"
        ),
        pk=pk,
    )


@login_required
def escalation_detail(request, pk: int):
    escalation = _escalation_or_404(request, pk)
    if not _escalations_visible(request.user).filter(pk=escalation.pk).exists():
        return forbidden(request, "This escalation is not visible to you.")
    notifications = list(escalation.notifications.select_related("recipient").order_by("created_at", "pk"))
    deliveries = list(escalation.deliveries.order_by("created_at", "pk"))
    may = can_handle_escalation(request.user, team=escalation.team, owner_id=escalation.owner_id)
    return render(
        request,
        "sla/escalation_detail.html",
        {
            "section": "sla",
            "e": escalation,
            "now": timezone.now(),
            "plan": escalation.plan if _has_plan(escalation) else None,
            "subject_url": subject_url(escalation.clock) or escalation.url,
            "notifications": notifications,
            "deliveries": deliveries,
            "may_handle": may,
            "resolve_form": EscalationResolveForm(),
        },
    )


def _escalation_action(request, pk: int, service, done: str, **kwargs):
    escalation = _escalation_or_404(request, pk)
    if not _escalations_visible(request.user).filter(pk=escalation.pk).exists() or not can_handle_escalation(
        request.user, team=escalation.team, owner_id=escalation.owner_id
    ):
        return forbidden(request, "Only the owner, the team lead or a department head acts on this escalation.")
    outcome = run_service(service, escalation=escalation, by=request.user, **kwargs)
    back = next_url(request, reverse("sla:escalation_detail", args=[escalation.pk]))
    if outcome.status == 403:
        return forbidden(request, outcome.message)
    if not outcome.ok:
        return refused(request, outcome.message, back=back, status=outcome.status)
    messages.success(request, done)
    return redirect(back)


@login_required
@require_POST
def escalation_acknowledge_view(request, pk: int):
    return _escalation_action(
        request, pk, escalation_acknowledge, "Escalation acknowledged: people know you are on it."
    )


@login_required
@require_POST
def escalation_resolve_view(request, pk: int):
    form = EscalationResolveForm(request.POST)
    form.is_valid()
    return _escalation_action(
        request, pk, escalation_resolve, "Escalation resolved.", note=form.cleaned_data.get("note", "")
    )


@login_required
def plan_list(request):
    queryset = _plans_visible(request.user).select_related("team", "owner", "escalation").order_by("-opened_at", "-pk")
    filterset = PlanFilter(request.GET or None, queryset=queryset, request=request)
    page = paginate(request, filterset.qs)
    rows = _plan_clocks_attach(list(page.object_list))
    return render(
        request,
        "sla/plan_list.html",
        {"section": "sla", "filter": filterset, "page": page, "rows": rows, "now": timezone.now()},
    )


def _plan_clocks_attach(plans: list[Plan]) -> list[Plan]:
    """One query for the deadline clocks of a page of plans (a plan's due date is a clock like any other)."""
    clocks: dict[int, Clock] = {}
    if plans:
        for clock in Clock.objects.filter(
            subject_type__app_label="sla", subject_type__model="plan", subject_id__in=[p.pk for p in plans]
        ).order_by("started_at"):
            clocks[clock.subject_id] = clock  # the latest clock of each plan wins
    for plan in plans:
        plan.clock = clocks.get(plan.pk)
    return plans


def _plan_or_404(pk: int) -> Plan:
    return get_object_or_404(
        Plan.objects.select_related(
            "team", "owner", "agreement", "escalation__kpi_result__target", "submitted_by", "accepted_by"
        ),
        pk=pk,
    )


def _plan_context(request, plan: Plan, form=None) -> dict:
    may_file = can_handle_escalation(request.user, team=plan.team.kind, owner_id=plan.owner_id)
    if form is None and may_file and plan.status != Plan.Status.ACCEPTED:
        form = PlanSubmitForm(initial={"root_cause": plan.root_cause, "actions": plan.actions})
    return {
        "section": "sla",
        "plan": _plan_clocks_attach([plan])[0],
        "now": timezone.now(),
        "form": form if may_file and plan.status != Plan.Status.ACCEPTED else None,
        "may_accept": can_accept_plan(request.user) and plan.status == Plan.Status.SUBMITTED,
        "kpi": plan.escalation.kpi_result,
    }


@login_required
def plan_detail(request, pk: int):
    plan = _plan_or_404(pk)
    if not _plans_visible(request.user).filter(pk=plan.pk).exists():
        return forbidden(request, "This plan is not visible to you.")
    return render(request, "sla/plan_detail.html", _plan_context(request, plan))


@login_required
@require_POST
def plan_submit_view(request, pk: int):
    plan = _plan_or_404(pk)
    if not _plans_visible(request.user).filter(pk=plan.pk).exists() or not can_handle_escalation(
        request.user, team=plan.team.kind, owner_id=plan.owner_id
    ):
        return forbidden(request, "Only the plan's owner, the team lead or a department head files this plan.")
    form = PlanSubmitForm(request.POST)
    status = 400
    if form.is_valid():
        outcome = run_service(plan_submit, form, plan=plan, by=request.user, **form.cleaned_data)
        if outcome.status == 403:
            return forbidden(request, outcome.message)
        if outcome.ok:
            messages.success(request, "Plan filed. A department head reviews and accepts it.")
            return redirect("sla:plan_detail", pk=plan.pk)
        status = outcome.status
    return render(request, "sla/plan_detail.html", _plan_context(request, plan, form), status=status)


@login_required
@require_POST
def plan_accept_view(request, pk: int):
    plan = _plan_or_404(pk)
    if not can_accept_plan(request.user):
        return forbidden(request, "Only a department head accepts plans.")
    outcome = run_service(plan_accept, plan=plan, by=request.user)
    back = reverse("sla:plan_detail", args=[plan.pk])
    if outcome.status == 403:
        return forbidden(request, outcome.message)
    if not outcome.ok:
        return refused(request, outcome.message, back=back, status=outcome.status)
    lifted = " Marketing's hand-offs are open again." if plan.kind == Plan.Kind.REMEDIATION else ""
    messages.success(request, f"Plan accepted; its escalation is resolved.{lifted}")
    return redirect(back)


@login_required
def inbox(request):
    queryset = Notification.objects.filter(recipient=request.user).select_related("escalation__clock")
    filterset = NotificationFilter(request.GET or None, queryset=queryset.order_by("-created_at", "-pk"))
    page = paginate(request, filterset.qs)
    return render(
        request,
        "sla/inbox.html",
        {"section": "sla", "filter": filterset, "page": page, "rows": list(page.object_list), "now": timezone.now()},
    )


@login_required
@require_POST
def notification_read(request, pk: int):
    notification = get_object_or_404(Notification, pk=pk)
    if notification.recipient_id != request.user.pk:
        return forbidden(request, "This notification is not yours.")
    outcome = run_service(notification_mark_read, notification=notification, by=request.user)
    if outcome.status == 403:
        return forbidden(request, outcome.message)
    if request.htmx:
        return htmx_fragment(request, "sla/inbox.html#item", {"n": outcome.result, "badge_oob": True})
    return redirect(next_url(request, reverse("sla:inbox")))


@login_required
@require_POST
def notifications_read_all(request):
    count = notifications_mark_all_read(user=request.user)
    messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read.")
    return redirect(next_url(request, reverse("sla:inbox")))
