"""django-filter FilterSets for the lead API lists (the HTML screens have their own filters.py)."""

from django.db.models import Q
from django_filters import rest_framework as filters

from accounts.models import TeamKind
from sla.api_filters import ClockFlagFilterSet, IdFilter, datetime_range

from .models import Lead, LeadEvent, LeadEventKind, LeadSource, LeadState, Touchpoint, TouchpointKind


class LeadApiFilter(ClockFlagFilterSet):
    state = filters.MultipleChoiceFilter(choices=LeadState.choices)
    team = filters.MultipleChoiceFilter(choices=TeamKind.choices)
    owner = IdFilter(field_name="owner_id")
    unowned = filters.BooleanFilter(field_name="owner", lookup_expr="isnull")
    source = filters.MultipleChoiceFilter(choices=LeadSource.choices)
    campaign = filters.CharFilter(lookup_expr="iexact", max_length=120)
    email = filters.CharFilter(lookup_expr="iexact", max_length=254)
    q = filters.CharFilter(method="filter_q", max_length=100, label="Name, e-mail or organisation contains")
    imp_fit = filters.BooleanFilter()
    min_score = filters.NumberFilter(field_name="score", lookup_expr="gte", min_value=0, max_value=10**9)
    created_after, created_before = datetime_range("created_at")
    state_changed_after, state_changed_before = datetime_range("state_changed_at")

    class Meta:
        model = Lead
        fields = ["state", "team", "owner", "unowned", "source", "campaign", "email", "q", "imp_fit", "min_score"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(email__icontains=value)
            | Q(organisation__icontains=value)
        )


class TouchpointApiFilter(filters.FilterSet):
    lead = IdFilter(field_name="lead_id")
    kind = filters.MultipleChoiceFilter(choices=TouchpointKind.choices)
    campaign = filters.CharFilter(lookup_expr="iexact", max_length=120)
    at_after, at_before = datetime_range("at")

    class Meta:
        model = Touchpoint
        fields = ["lead", "kind", "campaign"]


class LeadEventApiFilter(filters.FilterSet):
    lead = IdFilter(field_name="lead_id")
    kind = filters.MultipleChoiceFilter(choices=LeadEventKind.choices)
    actor = IdFilter(field_name="actor_id")
    to_state = filters.ChoiceFilter(choices=LeadState.choices)
    at_after, at_before = datetime_range("at")

    class Meta:
        model = LeadEvent
        fields = ["lead", "kind", "actor", "to_state"]
