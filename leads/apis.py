"""Lead API: the lead list and detail (with touchpoints), create and edit, touchpoints and events, the lead's own
transitions (qualify, recycle, disqualify, assign), and the intake endpoint for web forms and marketing tools.

Reads are ViewSets; every transition is a `<Entity><Verb>Api` view that checks sla_portal.policy and calls the
same service as the screens. Hand-off, contact attempts and conversion live with their apps (handoffs/apis.py,
onboarding/apis.py) but answer under /api/leads/{id}/…
"""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import TeamKind
from sla.api_filters import with_clock_flags
from sla.apis import ClockOutputSerializer
from sla.clocks import clocks_for
from sla_portal import policy
from sla_portal.api_base import (
    CsvExportMixin,
    EventTimeField,
    PortalApiMixin,
    TransitionApi,
    UserField,
    UserRefSerializer,
)
from sla_portal.api_plumbing import IntakeRateThrottle, PortalCursorPagination

from .api_filters import LeadApiFilter, LeadEventApiFilter, TouchpointApiFilter
from .intake import (
    Answer,
    idempotency_key_clean,
    idempotent_call,
    lead_intake,
    request_fingerprint,
    touchpoint_key,
)
from .models import (
    DisqualifyReason,
    Lead,
    LeadEvent,
    LeadSource,
    OrgSize,
    RecycleReason,
    Touchpoint,
    TouchpointKind,
)
from .services import (
    lead_assign,
    lead_create,
    lead_disqualify,
    lead_qualify,
    lead_recycle,
    lead_update,
    touchpoint_record,
)

MAX_NOTE = 5000
MAX_POINTS = 10_000
REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed",
    str,
    OpenApiParameter.HEADER,
    enum=["true"],
    response=[200, 201],
    description="Present on a replayed answer to a retried Idempotency-Key.",
)
IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[\\x21-\\x7e]+$"},
    OpenApiParameter.HEADER,
    required=False,
    description="Makes a retry safe: the same key (per user) replays the first answer and never records a second "
    "touchpoint. 1–100 visible ASCII characters; a UUID is a good key. Reusing a key with a different body is a 422.",
)


def _lead_field(name: str, **kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=Lead._meta.get_field(name).max_length, **kwargs)


# --- output ---------------------------------------------------------------------------------------------


class LeadRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lead
        fields = ["id", "first_name", "last_name", "email", "organisation", "state", "team"]


class TouchpointOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Touchpoint
        fields = ["id", "lead", "kind", "at", "points", "campaign", "detail"]


class LeadOutputSerializer(serializers.ModelSerializer):
    owner = UserRefSerializer(read_only=True, allow_null=True)
    agreement_version = serializers.IntegerField(source="agreement.version", read_only=True, allow_null=True)
    sla_breached = serializers.BooleanField(read_only=True, help_text="Has an overdue SLA clock now.")
    sla_at_risk = serializers.BooleanField(read_only=True, help_text="Has an SLA clock in its warning window.")

    class Meta:
        model = Lead
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "organisation",
            "sector",
            "region",
            "employees",
            "source",
            "campaign",
            "interest",
            "imp_fit",
            "fit_score",
            "intent_score",
            "score",
            "touchpoint_count",
            "state",
            "state_changed_at",
            "team",
            "owner",
            "agreement_version",
            "last_reason",
            "created_at",
            "updated_at",
            "sla_breached",
            "sla_at_risk",
        ]


class LeadDetailOutputSerializer(LeadOutputSerializer):
    recent_touchpoints = serializers.SerializerMethodField(help_text="The latest 50; all of them: /api/touchpoints/")
    clocks = serializers.SerializerMethodField()

    class Meta(LeadOutputSerializer.Meta):
        fields = [*LeadOutputSerializer.Meta.fields, "recent_touchpoints", "clocks"]

    @extend_schema_field(TouchpointOutputSerializer(many=True))
    def get_recent_touchpoints(self, lead: Lead) -> list[dict]:
        return TouchpointOutputSerializer(lead.touchpoints.order_by("-at", "-pk")[:50], many=True).data

    @extend_schema_field(ClockOutputSerializer(many=True))
    def get_clocks(self, lead: Lead) -> list[dict]:
        return ClockOutputSerializer(clocks_for(lead).select_related("owner__team"), many=True).data


class LeadEventOutputSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(read_only=True, allow_null=True)
    agreement_version = serializers.IntegerField(source="agreement.version", read_only=True, allow_null=True)

    class Meta:
        model = LeadEvent
        fields = [
            "id",
            "lead",
            "kind",
            "from_state",
            "to_state",
            "actor",
            "at",
            "reason",
            "note",
            "data",
            "agreement_version",
        ]


# --- input ----------------------------------------------------------------------------------------------


class LeadFieldsInputSerializer(serializers.Serializer):
    """The lead's own data as services accept it; employees may be a head count, bucketed like a form's."""

    first_name = _lead_field("first_name", required=False)
    last_name = _lead_field("last_name", required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False)
    phone = _lead_field("phone", required=False, allow_blank=True)
    job_title = _lead_field("job_title", required=False, allow_blank=True)
    organisation = _lead_field("organisation", required=False, allow_blank=True)
    sector = _lead_field("sector", required=False, allow_blank=True)
    region = _lead_field("region", required=False, allow_blank=True)
    employees = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=10**9,
        help_text=f"A head count; stored as its size band ({', '.join(str(v) for v in OrgSize.values)}).",
    )
    source = serializers.ChoiceField(choices=LeadSource.choices, required=False)
    campaign = _lead_field("campaign", required=False, allow_blank=True)
    interest = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True)

    def validate_employees(self, value: int) -> int:
        from .intake import employees_bucket

        return employees_bucket(value)

    def validate_first_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("A first name is required.")
        return value


class LeadCreateInputSerializer(LeadFieldsInputSerializer):
    first_name = _lead_field("first_name")
    email = serializers.EmailField(max_length=254)


class TouchpointInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TouchpointKind.choices)
    at = EventTimeField(required=False, help_text="When it happened; default now.")
    points = serializers.IntegerField(required=False, min_value=0, max_value=MAX_POINTS, allow_null=True)
    campaign = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    detail = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


# --- reads, create, edit --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Leads visible to you, newest first (cursor-paginated)"),
    retrieve=extend_schema(summary="One lead, with its latest touchpoints and its SLA clocks"),
    create=extend_schema(
        summary="Create a prospect", request=LeadCreateInputSerializer, responses={201: LeadDetailOutputSerializer}
    ),
    partial_update=extend_schema(
        summary="Edit a lead's contact and profile data (re-scores; may qualify it)",
        request=LeadFieldsInputSerializer,
        responses={200: LeadDetailOutputSerializer},
    ),
)
class LeadViewSet(
    PortalApiMixin,
    CsvExportMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Lead.objects.none()  # for the schema; requests use get_queryset()
    http_method_names = ["get", "post", "patch", "head", "options"]
    conflict_actions = {"create", "partial_update"}  # 409 when no agreement is active to score against
    filterset_class = LeadApiFilter
    pagination_class = PortalCursorPagination
    ordering_fields = ["created_at", "state_changed_at", "score", "updated_at"]
    ordering = ["-created_at"]
    export_filename = "leads"
    export_columns = [
        ("id", "id"),
        ("email", "email"),
        ("first_name", "first_name"),
        ("last_name", "last_name"),
        ("phone", "phone"),
        ("job_title", "job_title"),
        ("organisation", "organisation"),
        ("sector", "sector"),
        ("region", "region"),
        ("employees", "employees"),
        ("source", "source"),
        ("campaign", "campaign"),
        ("state", "state"),
        ("team", "team"),
        ("owner", "owner__username"),
        ("score", "score"),
        ("fit_score", "fit_score"),
        ("intent_score", "intent_score"),
        ("touchpoint_count", "touchpoint_count"),
        ("imp_fit", "imp_fit"),
        ("agreement_version", "agreement__version"),
        ("last_reason", "last_reason"),
        ("state_changed_at", "state_changed_at"),
        ("created_at", "created_at"),
    ]

    def get_queryset(self):
        queryset = policy.leads_visible(self.request.user).select_related("owner__team", "agreement")
        return with_clock_flags(queryset)

    def get_serializer_class(self):
        return LeadOutputSerializer if self.action == "list" else LeadDetailOutputSerializer

    def create(self, request, *args, **kwargs):
        self.require(policy.can_act_for_team(request.user, TeamKind.MARKETING), "Only Marketing creates prospects.")
        data = LeadCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lead = lead_create(by=request.user, **data.validated_data)
        return Response(LeadDetailOutputSerializer(self.get_queryset().get(pk=lead.pk)).data, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        lead = self.get_object()
        self.require(policy.can_act_on_lead(request.user, lead), "This lead is with another team.")
        data = LeadFieldsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data:
            lead_update(lead=lead, by=request.user, **data.validated_data)
        return Response(LeadDetailOutputSerializer(self.get_queryset().get(pk=lead.pk)).data)


@extend_schema_view(
    list=extend_schema(summary="Touchpoints of the leads visible to you (cursor-paginated)"),
    retrieve=extend_schema(summary="One touchpoint"),
)
class TouchpointViewSet(PortalApiMixin, CsvExportMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Touchpoint.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = TouchpointOutputSerializer
    filterset_class = TouchpointApiFilter
    pagination_class = PortalCursorPagination
    ordering_fields = ["at"]
    ordering = ["-at"]
    export_filename = "touchpoints"
    export_columns = [
        ("id", "id"),
        ("lead_id", "lead_id"),
        ("email", "lead__email"),
        ("kind", "kind"),
        ("at", "at"),
        ("points", "points"),
        ("campaign", "campaign"),
        ("detail", "detail"),
    ]

    def get_queryset(self):
        return Touchpoint.objects.filter(lead__in=policy.leads_visible(self.request.user).values("pk"))


@extend_schema_view(
    list=extend_schema(summary="The audit trail of the leads visible to you (cursor-paginated)"),
    retrieve=extend_schema(summary="One lead event"),
)
class LeadEventViewSet(PortalApiMixin, CsvExportMixin, viewsets.ReadOnlyModelViewSet):
    queryset = LeadEvent.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = LeadEventOutputSerializer
    filterset_class = LeadEventApiFilter
    pagination_class = PortalCursorPagination
    ordering_fields = ["at"]
    ordering = ["-at"]
    export_filename = "lead-events"
    export_columns = [
        ("id", "id"),
        ("lead_id", "lead_id"),
        ("kind", "kind"),
        ("from_state", "from_state"),
        ("to_state", "to_state"),
        ("actor", "actor__username"),
        ("at", "at"),
        ("reason", "reason"),
        ("note", "note"),
        ("agreement_version", "agreement__version"),
    ]

    def get_queryset(self):
        return LeadEvent.objects.filter(lead__in=policy.leads_visible(self.request.user).values("pk")).select_related(
            "actor__team", "agreement"
        )


# --- transitions ----------------------------------------------------------------------------------------


class LeadTransitionApi(TransitionApi):
    OutputSerializer = LeadDetailOutputSerializer

    def visible(self, user):
        return with_clock_flags(policy.leads_visible(user).select_related("owner__team", "agreement"))

    def lead_for_action(self, request, id) -> Lead:
        lead = self.subject(request, id)
        self.require(policy.can_act_on_lead(request.user, lead), f"This lead is with {lead.get_team_display()}.")
        return lead

    def fresh(self, lead: Lead):
        """The lead as it is now, for whoever just acted on it (even if it has moved out of their view)."""
        return self.answer(with_clock_flags(Lead.objects.select_related("owner__team", "agreement")).get(pk=lead.pk))


class LeadQualifyApi(LeadTransitionApi):
    @extend_schema(
        summary="Re-check a prospect against the agreement's MQL thresholds",
        description="409 says what is still missing (fit, touchpoints, score).",
        request=None,
        responses={200: LeadDetailOutputSerializer},
    )
    def post(self, request, id):
        lead = self.lead_for_action(request, id)
        lead_qualify(lead=lead, by=request.user)
        return self.fresh(lead)


class LeadRecycleApi(LeadTransitionApi):
    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(choices=RecycleReason.choices)
        note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")

    @extend_schema(
        summary="Send a lead back to nurture", request=InputSerializer, responses={200: LeadDetailOutputSerializer}
    )
    def post(self, request, id):
        lead = self.lead_for_action(request, id)
        data = self.input(request)
        lead_recycle(lead=lead, by=request.user, **data)
        return self.fresh(lead)


class LeadDisqualifyApi(LeadTransitionApi):
    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(choices=DisqualifyReason.choices)
        note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")

    @extend_schema(summary="Disqualify a lead", request=InputSerializer, responses={200: LeadDetailOutputSerializer})
    def post(self, request, id):
        lead = self.lead_for_action(request, id)
        data = self.input(request)
        lead_disqualify(lead=lead, by=request.user, **data)
        return self.fresh(lead)


class LeadAssignApi(LeadTransitionApi):
    class InputSerializer(serializers.Serializer):
        owner = UserField(allow_null=True, help_text="A user of the team that works the lead now; null: nobody.")

    @extend_schema(
        summary="Give a lead to someone in the team that works it (team leads)",
        request=InputSerializer,
        responses={200: LeadDetailOutputSerializer},
    )
    def post(self, request, id):
        lead = self.subject(request, id)
        self.require(
            policy.can_reassign_for_team(request.user, lead.team),
            f"Only {lead.get_team_display()}'s team lead reassigns this lead.",
        )
        data = self.input(request)
        lead_assign(lead=lead, owner=data["owner"], by=request.user)
        return self.fresh(lead)


class LeadTouchpointCreateApi(LeadTransitionApi):
    """Record engagement on one lead (re-scores; may qualify it). Idempotency-Key makes a retry safe."""

    InputSerializer = TouchpointInputSerializer
    OutputSerializer = TouchpointOutputSerializer
    is_transition = False  # the lifecycle never refuses engagement; only a missing agreement does (409)
    extra_error_codes = {"POST": ("409", "422")}

    @extend_schema(
        summary="Record a touchpoint on a lead",
        parameters=[IDEMPOTENCY_HEADER, REPLAYED_HEADER],
        request=TouchpointInputSerializer,
        responses={201: TouchpointOutputSerializer, 200: OpenApiResponse(TouchpointOutputSerializer, "A replay")},
    )
    def post(self, request, id):
        lead = self.lead_for_action(request, id)
        key = idempotency_key_clean(request.headers.get("Idempotency-Key"))
        data = self.input(request)

        def run() -> Answer:
            touchpoint = touchpoint_record(
                lead=lead,
                by=request.user,
                idempotency_key=touchpoint_key(user=request.user, scope="touchpoint", key=key) if key else None,
                **data,
            )
            return Answer(status.HTTP_201_CREATED, TouchpointOutputSerializer(touchpoint).data)

        if key is None:
            answer = run()
        else:
            fingerprint = request_fingerprint("touchpoint", lead.pk, data)
            answer = idempotent_call(user=request.user, scope="touchpoint", key=key, fingerprint=fingerprint, run=run)
        return _answer_response(answer)


def _answer_response(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status_code)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


# --- intake ---------------------------------------------------------------------------------------------


class LeadIntakeApi(PortalApiMixin, APIView):
    """Web forms and marketing tools: create or update the prospect (by e-mail, case-insensitive), record the
    touchpoint, re-score, and qualify to MQL when the agreement's thresholds hold; all or nothing."""

    throttle_classes = [IntakeRateThrottle]
    max_body_bytes = 64 * 1024
    extra_error_codes = {"POST": ("409", "422")}

    class InputSerializer(LeadFieldsInputSerializer):
        email = serializers.EmailField(max_length=254)
        first_name = _lead_field("first_name", required=False, help_text="Required when the e-mail is new.")
        touchpoint = TouchpointInputSerializer(
            required=False, help_text="What the prospect did; default a form submission now."
        )

    class OutputSerializer(serializers.Serializer):
        created = serializers.BooleanField(help_text="A new prospect was created (else an existing one updated).")
        qualified = serializers.BooleanField(help_text="This submission made the lead an MQL.")
        lead = LeadOutputSerializer()
        touchpoint = TouchpointOutputSerializer()

    @extend_schema(
        summary="Intake: create or update a prospect and record its touchpoint",
        parameters=[IDEMPOTENCY_HEADER, REPLAYED_HEADER],
        request=InputSerializer,
        responses={
            201: OpenApiResponse(OutputSerializer, "A new prospect"),
            200: OpenApiResponse(OutputSerializer, "An existing lead (matched by e-mail) was updated; or a replay"),
        },
    )
    def post(self, request):
        self.require(policy.can_act_for_team(request.user, TeamKind.MARKETING), "Only Marketing takes leads in.")
        key = idempotency_key_clean(request.headers.get("Idempotency-Key"))
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        touchpoint = dict(data.pop("touchpoint", None) or {"kind": TouchpointKind.FORM})
        if not touchpoint.get("campaign"):
            touchpoint["campaign"] = data.get("campaign", "")

        def run() -> Answer:
            result = lead_intake(
                by=request.user,
                lead=data,
                touchpoint=touchpoint,
                idempotency_key=touchpoint_key(user=request.user, scope="intake", key=key) if key else None,
            )
            lead = with_clock_flags(Lead.objects.select_related("owner__team", "agreement")).get(pk=result.lead.pk)
            body = self.OutputSerializer(
                {
                    "created": result.created,
                    "qualified": result.qualified,
                    "lead": lead,
                    "touchpoint": result.touchpoint,
                }
            ).data
            return Answer(status.HTTP_201_CREATED if result.created else status.HTTP_200_OK, body)

        if key is None:
            return _answer_response(run())
        fingerprint = request_fingerprint("intake", data, touchpoint)
        return _answer_response(
            idempotent_call(user=request.user, scope="intake", key=key, fingerprint=fingerprint, run=run)
        )
