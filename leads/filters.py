"""Search and filters for the Marketing lists (django-filter). Bad filter values are ignored and shown as
errors next to the filter, so a mistyped URL never empties a list silently or fails."""

import django_filters
from django import forms
from django.db.models import Q

from accounts.models import TeamKind

from .models import LeadSource, LeadState, RecycleReason, RejectReason
from .selectors import team_members

SEARCH_WIDGET = forms.TextInput(attrs={"type": "search", "placeholder": "Name, e-mail, organisation…"})
YES_NO = forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")])


def search_q(value: str, *fields: str) -> Q:
    q = Q()
    for word in value.split()[:5]:
        word_q = Q()
        for field in fields:
            word_q |= Q(**{f"{field}__icontains": word})
        q &= word_q
    return q


LEAD_SEARCH_FIELDS = ("first_name", "last_name", "email", "organisation", "campaign")


class OwnerFilterMixin:
    """'Owner': me, unassigned, or one person of the team whose work the list shows."""

    owner_team: str = TeamKind.MARKETING

    def owner_choices(self):
        people = [(str(u.pk), str(u)) for u in team_members(self.owner_team)]
        return [("me", "Me"), ("none", "Unassigned"), *people]

    def filter_owner(self, queryset, name, value):
        if value == "me":
            return queryset.filter(owner=self.request.user)
        if value == "none":
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=value)


class LeadFilter(OwnerFilterMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search", widget=SEARCH_WIDGET)
    state = django_filters.ChoiceFilter(choices=LeadState.choices, empty_label="Any state", label="State")
    source = django_filters.ChoiceFilter(choices=LeadSource.choices, empty_label="Any source", label="Source")
    imp_fit = django_filters.BooleanFilter(label="IMP fit", widget=YES_NO)
    min_score = django_filters.NumberFilter(field_name="score", lookup_expr="gte", label="Score at least", min_value=0)
    owner = django_filters.ChoiceFilter(method="filter_owner", label="Owner", empty_label="Anyone")
    o = django_filters.OrderingFilter(
        label="Sort by",
        fields=(("created_at", "created"), ("score", "score"), ("touchpoint_count", "touchpoints")),
        field_labels={"created": "Newest", "score": "Score", "touchpoints": "Touchpoints"},
        empty_label="Newest first",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].extra["choices"] = self.owner_choices()

    def filter_q(self, queryset, name, value):
        return queryset.filter(search_q(value, *LEAD_SEARCH_FIELDS))


class MqlQueueFilter(OwnerFilterMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search", widget=SEARCH_WIDGET)
    source = django_filters.ChoiceFilter(choices=LeadSource.choices, empty_label="Any source", label="Source")
    owner = django_filters.ChoiceFilter(method="filter_owner", label="Owner", empty_label="Anyone")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].extra["choices"] = self.owner_choices()

    def filter_q(self, queryset, name, value):
        return queryset.filter(search_q(value, *LEAD_SEARCH_FIELDS))


REASON_CHOICES = [
    ("Rejected by Outreach", [(f"rejected:{v}", label) for v, label in RejectReason.choices]),
    ("Recycled to nurture", [(f"recycled:{v}", label) for v, label in RecycleReason.choices]),
]


class FeedbackFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search", widget=SEARCH_WIDGET)
    state = django_filters.ChoiceFilter(
        choices=[(LeadState.REJECTED, "Rejected by Outreach"), (LeadState.RECYCLED, "Recycled to nurture")],
        empty_label="Rejected and recycled",
        label="Came back as",
    )
    reason = django_filters.ChoiceFilter(
        choices=REASON_CHOICES, method="filter_reason", empty_label="Any reason", label="Reason"
    )
    source = django_filters.ChoiceFilter(choices=LeadSource.choices, empty_label="Any source", label="Source")

    def filter_q(self, queryset, name, value):
        return queryset.filter(search_q(value, *LEAD_SEARCH_FIELDS))

    def filter_reason(self, queryset, name, value):
        state, _, code = value.partition(":")
        return queryset.filter(state=state, last_reason=code)
