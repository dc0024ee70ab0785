"""Reads for the hand-off screens: Marketing's MQL queue data and Outreach's queue, in a fixed number of
queries per page (clocks by subquery for the order, once per page for display)."""

from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from leads.models import Lead, LeadState
from leads.selectors import clocks_attach, open_clock_due
from sla_portal.policy import leads_visible

from .models import ContactAttempt, Handoff
from .services import handoff_missing_fields

OUTREACH_QUEUE_STATES = (LeadState.HANDED_OFF, LeadState.SQL, LeadState.WORKING)


def outreach_queue(*, user: User) -> QuerySet[Lead]:
    """Leads with Outreach, the one closest to breaching first (then those whose clocks are paused)."""
    attempts = ContactAttempt.objects.filter(lead=OuterRef("pk")).values("lead").annotate(n=Count("pk")).values("n")[:1]
    last_attempt = ContactAttempt.objects.filter(lead=OuterRef("pk")).order_by("-at").values("at")[:1]
    pending = Handoff.objects.filter(kind=Handoff.Kind.TO_OUTREACH, status=Handoff.Status.PENDING).select_related(
        "from_user"
    )
    return (
        leads_visible(user)
        .filter(state__in=OUTREACH_QUEUE_STATES)
        .select_related("owner")
        .prefetch_related(Prefetch("handoffs", queryset=pending, to_attr="pending_handoffs"))
        .annotate(
            next_due=open_clock_due(app_label="leads", model="lead"),
            attempt_count=Coalesce(Subquery(attempts, output_field=IntegerField()), Value(0)),
            last_attempt_at=Subquery(last_attempt),
        )
        .order_by(F("next_due").asc(nulls_last=True), "state_changed_at", "pk")
    )


def queue_rows(rows) -> list[Lead]:
    """A page of the Outreach queue, ready to show: the urgent clock and the pending hand-off of each row."""
    rows = clocks_attach(rows, app_label="leads", model="lead")
    for lead in rows:
        lead.pending_handoff = lead.pending_handoffs[0] if getattr(lead, "pending_handoffs", None) else None
    return rows


def mql_rows(rows) -> list[Lead]:
    """A page of the MQL queue: its hand-off clock and the required fields still empty on each lead."""
    rows = clocks_attach(rows, app_label="leads", model="lead")
    for lead in rows:
        required = list(lead.agreement.required_handoff_fields) if lead.agreement else []
        lead.missing = handoff_missing_fields(lead=lead, required=required)
    return rows


def handoff_list(*, user: User) -> QuerySet[Handoff]:
    return (
        Handoff.objects.filter(lead__in=leads_visible(user).values("pk"))
        .select_related("lead", "from_user", "to_user", "decided_by")
        .order_by("-created_at", "-pk")
    )
