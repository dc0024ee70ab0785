"""django-filter FilterSets for the member API lists (the HTML screens have their own filters.py)."""

from django_filters import rest_framework as filters

from sla.api_filters import ClockFlagFilterSet, IdFilter, date_range, datetime_range

from .models import Membership, MembershipEvent, MembershipEventKind, MembershipType, MemberState


class MembershipApiFilter(ClockFlagFilterSet):
    state = filters.MultipleChoiceFilter(choices=MemberState.choices)
    membership_type = filters.MultipleChoiceFilter(choices=MembershipType.choices)
    owner = IdFilter(field_name="owner_id")
    unowned = filters.BooleanFilter(field_name="owner", lookup_expr="isnull")
    lead = IdFilter(field_name="lead_id")
    email = filters.CharFilter(lookup_expr="iexact", max_length=254)
    signed_after, signed_before = datetime_range("signed_at")
    term_end_after, term_end_before = date_range("term_end")

    class Meta:
        model = Membership
        fields = ["state", "membership_type", "owner", "unowned", "lead", "email"]


class MembershipEventApiFilter(filters.FilterSet):
    membership = IdFilter(field_name="membership_id")
    kind = filters.MultipleChoiceFilter(choices=MembershipEventKind.choices)
    at_after, at_before = datetime_range("at")

    class Meta:
        model = MembershipEvent
        fields = ["membership", "kind"]
