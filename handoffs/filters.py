"""Search and filters for Outreach's queue and the hand-off log (django-filter)."""

import django_filters
from django import forms
from django.db.models import Q

from accounts.models import TeamKind
from leads.filters import LEAD_SEARCH_FIELDS, SEARCH_WIDGET, YES_NO, OwnerFilterMixin, search_q
from leads.models import LeadSource, LeadState, RejectReason

from .models import Handoff

URGENCY_CHOICES = [("warn", "In warning or overdue"), ("overdue", "Overdue")]


class OutreachQueueFilter(OwnerFilterMixin, django_filters.FilterSet):
    owner_team = TeamKind.OUTREACH

    q = django_filters.CharFilter(method="filter_q", label="Search", widget=SEARCH_WIDGET)
    owner = django_filters.ChoiceFilter(method="filter_owner", label="Whose", empty_label="Whole team")
    state = django_filters.ChoiceFilter(
        choices=[(s.value, s.label) for s in (LeadState.HANDED_OFF, LeadState.SQL, LeadState.WORKING)],
        empty_label="Any stage",
        label="Stage",
    )
    source = django_filters.ChoiceFilter(choices=LeadSource.choices, empty_label="Any source", label="Source")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].extra["choices"] = [
            ("mine", "Mine + unassigned hand-offs"),
            *self.owner_choices(),
        ]

    def filter_q(self, queryset, name, value):
        return queryset.filter(search_q(value, *LEAD_SEARCH_FIELDS))

    def filter_owner(self, queryset, name, value):
        if value == "mine":
            return queryset.filter(Q(owner=self.request.user) | Q(owner__isnull=True, state=LeadState.HANDED_OFF))
        return super().filter_owner(queryset, name, value)


class HandoffFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search", widget=SEARCH_WIDGET)
    kind = django_filters.ChoiceFilter(choices=Handoff.Kind.choices, empty_label="Both directions", label="Hand-off")
    status = django_filters.ChoiceFilter(choices=Handoff.Status.choices, empty_label="Any status", label="Status")
    reject_reason = django_filters.ChoiceFilter(
        choices=RejectReason.choices, empty_label="Any reason", label="Reject reason"
    )
    is_complete = django_filters.BooleanFilter(label="Data complete", widget=YES_NO)
    since = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="Since", widget=forms.DateInput(attrs={"type": "date"})
    )

    def filter_q(self, queryset, name, value):
        return queryset.filter(search_q(value, *(f"lead__{f}" for f in LEAD_SEARCH_FIELDS)))
