"""Forms for the escalation, plan and inbox screens, and the helpers every app's screen forms share.

Services validate the rules; these forms only shape input. When a service refuses with InvalidInput, its
field → message map lands on the form's own fields so the message shows next to what the user typed."""

import django_filters
from django import forms
from django.db.models import Q

from accounts.models import TeamKind
from sla_portal.errors import InvalidInput

from .models import Escalation, EscalationKind, Plan


def form_add_service_errors(form: forms.Form, exc: InvalidInput, field_map: dict[str, str] | None = None) -> None:
    """Put a service's per-field errors on the form: on the matching field, else at the top of the form."""
    field_map = field_map or {}
    for key, message in exc.errors.items():
        name = field_map.get(key, key)
        if name in form.fields:
            form.add_error(name, message)
        elif name == "__all__":
            form.add_error(None, message)
        else:
            form.add_error(None, f"{key.replace('_', ' ').capitalize()}: {message}")


class PlanSubmitForm(forms.Form):
    root_cause = forms.CharField(
        label="Root cause",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What made the team miss its target or its data quality, in a few sentences.",
    )
    actions = forms.CharField(
        label="Corrective actions",
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One action per line, with who does it and by when.",
    )


class EscalationResolveForm(forms.Form):
    note = forms.CharField(
        label="Resolution note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What was done about it (optional).",
    )


# --- filters for the escalation, plan and inbox lists (django-filter) --------------------------------------------

SEARCH = forms.TextInput(attrs={"type": "search", "placeholder": "Title or detail…"})
PARTY_TEAMS = [(k.value, k.label) for k in (TeamKind.MARKETING, TeamKind.OUTREACH, TeamKind.MEMBER_SUCCESS)]


class EscalationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search", widget=SEARCH)
    status = django_filters.ChoiceFilter(
        choices=[("active", "Open or acknowledged"), *Escalation.Status.choices],
        method="filter_status",
        empty_label="Any status",
        label="Status",
    )
    kind = django_filters.ChoiceFilter(choices=EscalationKind.choices, empty_label="Any kind", label="Kind")
    team = django_filters.ChoiceFilter(choices=PARTY_TEAMS, empty_label="Any team", label="Team")
    whose = django_filters.ChoiceFilter(
        choices=[("mine", "Owned by me")], method="filter_whose", empty_label="Anyone's", label="Owner"
    )

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(detail__icontains=value))

    def filter_status(self, queryset, name, value):
        if value == "active":
            return queryset.exclude(status=Escalation.Status.RESOLVED)
        return queryset.filter(status=value)

    def filter_whose(self, queryset, name, value):
        return queryset.filter(owner=self.request.user) if value == "mine" else queryset


class PlanFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Plan.Status.choices, empty_label="Any status", label="Status")
    kind = django_filters.ChoiceFilter(choices=Plan.Kind.choices, empty_label="Any kind", label="Kind")
    team = django_filters.ChoiceFilter(
        field_name="team__kind", choices=PARTY_TEAMS, empty_label="Any team", label="Team"
    )


class NotificationFilter(django_filters.FilterSet):
    show = django_filters.ChoiceFilter(
        choices=[("unread", "Unread only")], method="filter_show", empty_label="All notifications", label="Show"
    )
    q = django_filters.CharFilter(method="filter_q", label="Search", widget=SEARCH)

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(body__icontains=value))

    def filter_show(self, queryset, name, value):
        return queryset.filter(read_at__isnull=True) if value == "unread" else queryset
