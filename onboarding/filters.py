"""Search and filters for Member Success's lists and the flag lists of Outreach and Marketing."""

import django_filters
from django import forms
from django.db.models import Exists, OuterRef

from accounts.models import TeamKind
from leads.filters import OwnerFilterMixin, search_q

from .models import ChurnReason, FlagKind, MembershipFlag, MembershipType, MemberState

MEMBER_SEARCH_FIELDS = ("organisation", "contact_name", "email")
SEARCH_WIDGET = forms.TextInput(attrs={"type": "search", "placeholder": "Organisation, contact, e-mail…"})


class MemberFilterBase(OwnerFilterMixin, django_filters.FilterSet):
    owner_team = TeamKind.MEMBER_SUCCESS

    q = django_filters.CharFilter(method="filter_q", label="Search", widget=SEARCH_WIDGET)
    membership_type = django_filters.ChoiceFilter(
        choices=MembershipType.choices, empty_label="Any type", label="Membership type"
    )
    owner = django_filters.ChoiceFilter(method="filter_owner", label="Owner", empty_label="Anyone")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner"].extra["choices"] = self.owner_choices()

    def filter_q(self, queryset, name, value):
        return queryset.filter(search_q(value, *MEMBER_SEARCH_FIELDS))


class MemberFilter(MemberFilterBase):
    state = django_filters.ChoiceFilter(choices=MemberState.choices, empty_label="Any state", label="State")
    churn_reason = django_filters.ChoiceFilter(
        choices=ChurnReason.choices, empty_label="Any churn reason", label="Churn reason"
    )
    signed_since = django_filters.DateFilter(
        field_name="signed_at", lookup_expr="date__gte", label="Signed since", widget=forms.DateInput({"type": "date"})
    )
    o = django_filters.OrderingFilter(
        label="Sort by",
        fields=(("signed_at", "signed"), ("term_end", "term_end"), ("engagement_score", "engagement")),
        field_labels={"signed": "Signed", "term_end": "Term end", "engagement": "Engagement"},
        empty_label="Newest first",
    )


class OnboardingFilter(MemberFilterBase):
    state = django_filters.ChoiceFilter(
        choices=[(MemberState.SIGNED, "Signed, not started"), (MemberState.ONBOARDING, "Onboarding")],
        empty_label="Signed and onboarding",
        label="Stage",
    )


class EngagementFilter(MemberFilterBase):
    signed_since = django_filters.DateFilter(
        field_name="signed_at", lookup_expr="date__gte", label="Signed since", widget=forms.DateInput({"type": "date"})
    )
    state = django_filters.ChoiceFilter(
        choices=[(s.value, s.label) for s in MemberState if s != MemberState.CHURNED],
        empty_label="Any active state",
        label="State",
    )


class AtRiskFilter(MemberFilterBase):
    flagged = django_filters.ChoiceFilter(
        choices=[("no", "Not flagged yet"), ("yes", "Already flagged")],
        method="filter_flagged",
        empty_label="Flagged or not",
        label="Flags",
    )

    def filter_flagged(self, queryset, name, value):
        has_open = Exists(MembershipFlag.objects.filter(membership=OuterRef("pk"), status=MembershipFlag.Status.OPEN))
        return queryset.filter(has_open) if value == "yes" else queryset.filter(~has_open)


RENEWAL_SCOPES = [("eligible", "Renewal eligible now"), ("upcoming", "Term ends within 90 days, not eligible yet")]


class RenewalFilter(MemberFilterBase):
    # The view picks the base list from `scope` (eligible members and upcoming terms are different queries);
    # the filter only shows the choice in the form.
    scope = django_filters.ChoiceFilter(
        choices=RENEWAL_SCOPES, method="keep", empty_label=None, label="Show", null_value="eligible"
    )

    def keep(self, queryset, name, value):
        return queryset


class FlagFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search", widget=SEARCH_WIDGET)
    to_team = django_filters.ChoiceFilter(
        choices=[(TeamKind.OUTREACH, "Outreach"), (TeamKind.MARKETING, "Marketing")],
        empty_label="Both teams",
        label="Flagged to",
    )
    kind = django_filters.ChoiceFilter(choices=FlagKind.choices, empty_label="Any kind", label="Kind")
    status = django_filters.ChoiceFilter(
        choices=MembershipFlag.Status.choices, empty_label="Any status", label="Status"
    )

    def filter_q(self, queryset, name, value):
        return queryset.filter(search_q(value, *(f"membership__{f}" for f in MEMBER_SEARCH_FIELDS)))
