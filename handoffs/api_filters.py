"""django-filter FilterSets for the hand-off API lists (the HTML screens have their own filters.py)."""

from django_filters import rest_framework as filters

from accounts.models import TeamKind
from leads.models import RejectReason
from sla.api_filters import IdFilter, datetime_range

from .models import ContactAttempt, Handoff


class HandoffApiFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=Handoff.Kind.choices)
    status = filters.MultipleChoiceFilter(choices=Handoff.Status.choices)
    from_team = filters.ChoiceFilter(choices=TeamKind.choices)
    to_team = filters.ChoiceFilter(choices=TeamKind.choices)
    lead = IdFilter(field_name="lead_id")
    to_user = IdFilter(field_name="to_user_id")
    from_user = IdFilter(field_name="from_user_id")
    reject_reason = filters.MultipleChoiceFilter(choices=RejectReason.choices)
    is_complete = filters.BooleanFilter()
    created_after, created_before = datetime_range("created_at")
    decided_after, decided_before = datetime_range("decided_at")

    class Meta:
        model = Handoff
        fields = ["kind", "status", "from_team", "to_team", "lead", "to_user", "from_user", "is_complete"]


class ContactAttemptApiFilter(filters.FilterSet):
    lead = IdFilter(field_name="lead_id")
    by = IdFilter(field_name="by_id")
    channel = filters.MultipleChoiceFilter(choices=ContactAttempt.Channel.choices)
    outcome = filters.MultipleChoiceFilter(choices=ContactAttempt.Outcome.choices)
    at_after, at_before = datetime_range("at")

    class Meta:
        model = ContactAttempt
        fields = ["lead", "by", "channel", "outcome"]
