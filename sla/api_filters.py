"""django-filter FilterSets for the API (the HTML screens have their own filters.py), plus the clock conditions
that the lead and member lists share: "breached" and "at risk" are facts about a subject's SLA clocks, joined in
with an EXISTS subquery on (subject_type, subject_id) so a list page stays one query."""

from datetime import UTC

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters

from accounts.models import TeamKind

from .models import Agreement, ClockState, Commitment, Escalation, EscalationKind, KpiMetric, KpiResult, Plan
from .models import Clock as ClockModel

MAX_ID = 2**62


class IdFilter(filters.Filter):
    """An integer id; out-of-range or non-numeric values are a 400, never a database error."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    """ISO 8601 with any offset Python accepts; compared in UTC, because PostgreSQL refuses offsets beyond ±15:59
    (a `+18:23` would otherwise reach the database and fail there)."""

    def filter(self, qs, value):
        if value is not None and timezone.is_aware(value):
            value = value.astimezone(UTC)
        return super().filter(qs, value)


def datetime_range(field_name: str) -> tuple[UtcDateTimeFilter, UtcDateTimeFilter]:
    """`<name>_after` (inclusive) and `<name>_before` (exclusive): two plain parameters, so an invalid value is
    reported under the parameter the client actually sent."""
    return (
        UtcDateTimeFilter(field_name=field_name, lookup_expr="gte", label=f"{field_name} on or after"),
        UtcDateTimeFilter(field_name=field_name, lookup_expr="lt", label=f"{field_name} before"),
    )


def date_range(field_name: str) -> tuple[filters.DateFilter, filters.DateFilter]:
    return (
        filters.DateFilter(field_name=field_name, lookup_expr="gte", label=f"{field_name} on or after"),
        filters.DateFilter(field_name=field_name, lookup_expr="lt", label=f"{field_name} before"),
    )


def breached_q(now) -> Q:
    """Overdue now: breached and not yet done, or past due and not swept yet."""
    return Q(state=ClockState.BREACHED, stopped_at__isnull=True) | Q(state=ClockState.RUNNING, due_at__lte=now)


def at_risk_q(now) -> Q:
    """Inside the warning window, not yet due."""
    return Q(state=ClockState.RUNNING, warn_at__lte=now, due_at__gt=now)


def clock_exists(model, condition: Q) -> Exists:
    subject_type = ContentType.objects.get_for_model(model)
    return Exists(ClockModel.objects.filter(condition, subject_type=subject_type, subject_id=OuterRef("pk")))


def with_clock_flags(queryset: QuerySet) -> QuerySet:
    now = timezone.now()
    return queryset.annotate(
        sla_breached=clock_exists(queryset.model, breached_q(now)),
        sla_at_risk=clock_exists(queryset.model, at_risk_q(now)),
    )


class ClockFlagFilterSet(filters.FilterSet):
    """Adds `breached` and `at_risk` (true/false) to a FilterSet of a clocked subject (lead, membership)."""

    breached = filters.BooleanFilter(method="filter_breached", label="Has an overdue SLA clock")
    at_risk = filters.BooleanFilter(method="filter_at_risk", label="Has an SLA clock in its warning window")

    def filter_breached(self, queryset, name, value):
        exists = clock_exists(queryset.model, breached_q(timezone.now()))
        return queryset.filter(exists if value else ~exists)

    def filter_at_risk(self, queryset, name, value):
        exists = clock_exists(queryset.model, at_risk_q(timezone.now()))
        return queryset.filter(exists if value else ~exists)


class AgreementApiFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Agreement.Status.choices)

    class Meta:
        model = Agreement
        fields = ["status"]


class EscalationApiFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Escalation.Status.choices)
    kind = filters.MultipleChoiceFilter(choices=EscalationKind.choices)
    team = filters.ChoiceFilter(choices=TeamKind.choices)
    owner = IdFilter(field_name="owner_id")
    commitment = filters.ChoiceFilter(field_name="clock__commitment", choices=Commitment.choices)
    created_after, created_before = datetime_range("created_at")

    class Meta:
        model = Escalation
        fields = ["status", "kind", "team", "owner", "commitment"]


class PlanApiFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Plan.Status.choices)
    kind = filters.ChoiceFilter(choices=Plan.Kind.choices)
    team = filters.ChoiceFilter(field_name="team__kind", choices=TeamKind.choices)
    owner = IdFilter(field_name="owner_id")
    due_after, due_before = datetime_range("due_at")
    opened_after, opened_before = datetime_range("opened_at")

    class Meta:
        model = Plan
        fields = ["status", "kind", "team", "owner"]


class KpiResultApiFilter(filters.FilterSet):
    team = filters.ChoiceFilter(field_name="team__kind", choices=TeamKind.choices)
    metric = filters.MultipleChoiceFilter(choices=KpiMetric.choices)
    frequency = filters.ChoiceFilter(choices=KpiResult._meta.get_field("frequency").choices)
    met = filters.BooleanFilter()
    period_after, period_before = date_range("period_start")
    agreement_version = IdFilter(field_name="target__agreement__version")

    class Meta:
        model = KpiResult
        fields = ["team", "metric", "frequency", "met", "agreement_version"]
