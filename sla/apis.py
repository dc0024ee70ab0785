"""SLA API: the active agreement and its versions (read-only: the agreement is edited in Django admin),
escalations, corrective and remediation plans, and KPI results. Escalations and plans have their transitions
(acknowledge, resolve, submit, accept) through sla.escalations, which checks who may act."""

from django.db.models import Q
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import team_kind
from sla_portal import policy
from sla_portal.api_base import CsvExportMixin, PortalApiMixin, TransitionApi, UserRefSerializer

from .api_filters import AgreementApiFilter, EscalationApiFilter, KpiResultApiFilter, PlanApiFilter
from .escalations import escalation_acknowledge, escalation_resolve, plan_accept, plan_submit
from .models import Agreement, BusinessCalendar, Clock, CommitmentTerm, Escalation, KpiResult, KpiTarget, Plan

MAX_TEXT = 10_000


# --- output ---------------------------------------------------------------------------------------------


class ClockOutputSerializer(serializers.ModelSerializer):
    owner = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Clock
        fields = [
            "id",
            "commitment",
            "state",
            "team",
            "owner",
            "started_at",
            "warn_at",
            "due_at",
            "breached_at",
            "stopped_at",
            "paused_at",
            "progress_count",
            "required_count",
        ]


class CalendarOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = BusinessCalendar
        fields = ["name", "time_zone", "always_open", "holiday_country", "holiday_subdivision"]


class CommitmentTermOutputSerializer(serializers.ModelSerializer):
    calendar = CalendarOutputSerializer(read_only=True)

    class Meta:
        model = CommitmentTerm
        fields = ["commitment", "owner_team", "amount", "unit", "calendar", "warn_at_pct", "required_count", "pausable"]


class KpiTargetOutputSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.kind", read_only=True)

    class Meta:
        model = KpiTarget
        fields = ["team", "metric", "comparator", "target", "frequency"]


class AgreementOutputSerializer(serializers.ModelSerializer):
    based_on_version = serializers.IntegerField(source="based_on.version", read_only=True, allow_null=True)
    parties = serializers.SlugRelatedField(slug_field="kind", many=True, read_only=True)
    terms = CommitmentTermOutputSerializer(many=True, read_only=True)
    kpi_targets = KpiTargetOutputSerializer(many=True, read_only=True)

    class Meta:
        model = Agreement
        fields = [
            "version",
            "title",
            "objective",
            "status",
            "based_on_version",
            "effective_date",
            "review_date",
            "parties",
            "imp_sectors",
            "imp_regions",
            "imp_min_employees",
            "mql_min_touchpoints",
            "mql_min_score",
            "onboarded_within_days",
            "renewal_window_days",
            "renewal_min_engagement",
            "engaged_threshold",
            "engagement_window_days",
            "mqls_per_month",
            "required_handoff_fields",
            "consecutive_misses_to_escalate",
            "corrective_plan_business_days",
            "max_incomplete_handoff_pct",
            "remediation_business_days",
            "review_reminder_days",
            "terms",
            "kpi_targets",
            "created_at",
            "activated_at",
        ]


class EscalationOutputSerializer(serializers.ModelSerializer):
    owner = UserRefSerializer(read_only=True, allow_null=True)
    resolved_by = UserRefSerializer(read_only=True, allow_null=True)
    agreement_version = serializers.IntegerField(source="agreement.version", read_only=True)
    commitment = serializers.CharField(source="clock.commitment", read_only=True, allow_null=True, default=None)
    due_at = serializers.DateTimeField(source="clock.due_at", read_only=True, allow_null=True, default=None)
    plan = serializers.SerializerMethodField()

    class Meta:
        model = Escalation
        fields = [
            "id",
            "kind",
            "team",
            "owner",
            "title",
            "detail",
            "url",
            "status",
            "created_at",
            "resolved_at",
            "resolved_by",
            "agreement_version",
            "commitment",
            "due_at",
            "kpi_result",
            "plan",
        ]

    def get_plan(self, escalation: Escalation) -> int | None:
        try:
            return escalation.plan.pk
        except Plan.DoesNotExist:
            return None


class PlanOutputSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.kind", read_only=True)
    owner = UserRefSerializer(read_only=True, allow_null=True)
    submitted_by = UserRefSerializer(read_only=True, allow_null=True)
    accepted_by = UserRefSerializer(read_only=True, allow_null=True)
    agreement_version = serializers.IntegerField(source="agreement.version", read_only=True)

    class Meta:
        model = Plan
        fields = [
            "id",
            "kind",
            "team",
            "title",
            "status",
            "escalation",
            "owner",
            "opened_at",
            "due_at",
            "root_cause",
            "actions",
            "submitted_at",
            "submitted_by",
            "accepted_at",
            "accepted_by",
            "agreement_version",
        ]


class KpiResultOutputSerializer(serializers.ModelSerializer):
    team = serializers.CharField(source="team.kind", read_only=True)
    comparator = serializers.CharField(source="target.comparator", read_only=True)
    target = serializers.DecimalField(source="target.target", max_digits=10, decimal_places=2, read_only=True)
    agreement_version = serializers.IntegerField(source="target.agreement.version", read_only=True)

    class Meta:
        model = KpiResult
        fields = [
            "id",
            "team",
            "metric",
            "frequency",
            "period_start",
            "period_end",
            "value",
            "numerator",
            "denominator",
            "comparator",
            "target",
            "met",
            "consecutive_misses",
            "evaluated_at",
            "agreement_version",
        ]


# --- visibility -----------------------------------------------------------------------------------------


def escalations_visible(user):
    """Heads and admins see every escalation; others their own team's and the ones they own.
    (Built from policy's primitives; policy.py has no escalation rule yet.)"""
    queryset = Escalation.objects.all()
    if policy.sees_everything(user):
        return queryset
    return queryset.filter(Q(team=team_kind(user) or "") | Q(owner=user))


def plans_visible(user):
    queryset = Plan.objects.all()
    if policy.sees_everything(user):
        return queryset
    return queryset.filter(Q(team__kind=team_kind(user) or "") | Q(owner=user))


# --- reads ----------------------------------------------------------------------------------------------


def _agreements():
    return Agreement.objects.select_related("based_on").prefetch_related(
        "parties", "terms__calendar", "kpi_targets__team"
    )


class ActiveAgreementApi(PortalApiMixin, APIView):
    extra_error_codes = {"GET": ("404",)}

    @extend_schema(summary="The agreement in force", responses={200: AgreementOutputSerializer})
    def get(self, request):
        agreement = _agreements().filter(status=Agreement.Status.ACTIVE).first()
        if agreement is None:
            raise NotFound("No SLA agreement is active.")
        return Response(AgreementOutputSerializer(agreement).data)


@extend_schema_view(
    list=extend_schema(summary="Every version of the agreement, newest first"),
    retrieve=extend_schema(summary="One version of the agreement, by version number"),
)
class AgreementViewSet(PortalApiMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Agreement.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = AgreementOutputSerializer
    filterset_class = AgreementApiFilter
    lookup_field = "version"
    ordering_fields = ["version"]
    ordering = ["-version"]

    def get_queryset(self):
        return _agreements()


@extend_schema_view(
    list=extend_schema(summary="Escalations you can see (your team's, yours; heads see all)"),
    retrieve=extend_schema(summary="One escalation"),
)
class EscalationViewSet(PortalApiMixin, CsvExportMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Escalation.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = EscalationOutputSerializer
    filterset_class = EscalationApiFilter
    ordering_fields = ["created_at", "resolved_at"]
    ordering = ["-created_at"]
    export_filename = "escalations"
    export_columns = [
        ("id", "id"),
        ("kind", "kind"),
        ("team", "team"),
        ("owner", "owner__username"),
        ("title", "title"),
        ("status", "status"),
        ("commitment", "clock__commitment"),
        ("due_at", "clock__due_at"),
        ("created_at", "created_at"),
        ("resolved_at", "resolved_at"),
        ("resolved_by", "resolved_by__username"),
        ("agreement_version", "agreement__version"),
    ]

    def get_queryset(self):
        return escalations_visible(self.request.user).select_related(
            "owner__team", "resolved_by__team", "agreement", "clock", "plan"
        )


@extend_schema_view(
    list=extend_schema(summary="Corrective-action and data remediation plans you can see"),
    retrieve=extend_schema(summary="One plan"),
)
class PlanViewSet(PortalApiMixin, CsvExportMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Plan.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = PlanOutputSerializer
    filterset_class = PlanApiFilter
    ordering_fields = ["opened_at", "due_at"]
    ordering = ["-opened_at"]
    export_filename = "plans"
    export_columns = [
        ("id", "id"),
        ("kind", "kind"),
        ("team", "team__kind"),
        ("title", "title"),
        ("status", "status"),
        ("owner", "owner__username"),
        ("opened_at", "opened_at"),
        ("due_at", "due_at"),
        ("submitted_at", "submitted_at"),
        ("accepted_at", "accepted_at"),
        ("root_cause", "root_cause"),
        ("actions", "actions"),
    ]

    def get_queryset(self):
        return plans_visible(self.request.user).select_related(
            "team", "owner__team", "submitted_by__team", "accepted_by__team", "agreement"
        )


@extend_schema_view(
    list=extend_schema(summary="KPI results per team and period (the shared scorecard: every team sees them)"),
    retrieve=extend_schema(summary="One KPI result"),
)
class KpiResultViewSet(PortalApiMixin, CsvExportMixin, viewsets.ReadOnlyModelViewSet):
    queryset = KpiResult.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = KpiResultOutputSerializer
    filterset_class = KpiResultApiFilter
    ordering_fields = ["period_start", "evaluated_at"]
    ordering = ["-period_start", "pk"]
    export_filename = "kpi-results"
    export_columns = [
        ("id", "id"),
        ("team", "team__kind"),
        ("metric", "metric"),
        ("frequency", "frequency"),
        ("period_start", "period_start"),
        ("period_end", "period_end"),
        ("value", "value"),
        ("numerator", "numerator"),
        ("denominator", "denominator"),
        ("comparator", "target__comparator"),
        ("target", "target__target"),
        ("met", "met"),
        ("consecutive_misses", "consecutive_misses"),
        ("agreement_version", "target__agreement__version"),
    ]

    def get_queryset(self):
        return KpiResult.objects.select_related("team", "target__agreement")


# --- transitions ----------------------------------------------------------------------------------------


class EscalationTransitionApi(TransitionApi):
    OutputSerializer = EscalationOutputSerializer

    def visible(self, user):
        return escalations_visible(user).select_related(
            "owner__team", "resolved_by__team", "agreement", "clock", "plan"
        )

    def require_handler(self, escalation: Escalation) -> None:
        self.require(
            policy.can_handle_escalation(self.request.user, team=escalation.team, owner_id=escalation.owner_id),
            "Only the owner, the team lead or a department head can act on this escalation.",
        )

    def fresh(self, escalation: Escalation):
        return self.answer(self.visible(self.request.user).get(pk=escalation.pk))


class EscalationAcknowledgeApi(EscalationTransitionApi):
    @extend_schema(
        summary="Acknowledge an escalation (owner, team lead, department head)",
        request=None,
        responses={200: EscalationOutputSerializer},
    )
    def post(self, request, id):
        escalation = self.subject(request, id)
        self.require_handler(escalation)
        escalation_acknowledge(escalation=escalation, by=request.user)
        return self.fresh(escalation)


class EscalationResolveApi(EscalationTransitionApi):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")

    @extend_schema(
        summary="Resolve an escalation (one with a plan resolves when its plan is accepted)",
        request=InputSerializer,
        responses={200: EscalationOutputSerializer},
    )
    def post(self, request, id):
        escalation = self.subject(request, id)
        self.require_handler(escalation)
        data = self.input(request)
        escalation_resolve(escalation=escalation, by=request.user, note=data["note"])
        return self.fresh(escalation)


class PlanTransitionApi(TransitionApi):
    OutputSerializer = PlanOutputSerializer

    def visible(self, user):
        return plans_visible(user).select_related(
            "team", "owner__team", "submitted_by__team", "accepted_by__team", "agreement"
        )

    def fresh(self, plan: Plan):
        return self.answer(self.visible(self.request.user).get(pk=plan.pk))


class PlanSubmitApi(PlanTransitionApi):
    class InputSerializer(serializers.Serializer):
        root_cause = serializers.CharField(max_length=MAX_TEXT)
        actions = serializers.CharField(max_length=MAX_TEXT)

    @extend_schema(
        summary="File the plan: root cause and corrective actions (meets the plan's deadline)",
        request=InputSerializer,
        responses={200: PlanOutputSerializer},
    )
    def post(self, request, id):
        plan = self.subject(request, id)
        self.require(
            policy.can_handle_escalation(request.user, team=plan.team.kind, owner_id=plan.owner_id),
            "Only the plan's owner, the team lead or a department head can file this plan.",
        )
        data = self.input(request)
        plan_submit(plan=plan, by=request.user, **data)
        return self.fresh(plan)


class PlanAcceptApi(PlanTransitionApi):
    @extend_schema(
        summary="Accept a submitted plan (department heads); a remediation plan lifts the hand-off pause",
        request=None,
        responses={200: PlanOutputSerializer},
    )
    def post(self, request, id):
        plan = self.subject(request, id)
        plan_accept(plan=plan, by=request.user)
        return self.fresh(plan)
