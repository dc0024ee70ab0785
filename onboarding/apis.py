"""Member API: memberships with their onboarding checklist, member events, conversion of an SQL into a member,
and Member Success's transitions (onboarding, engagement, renewal, churn, reassignment). Same services and policy
checks as the screens."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from accounts.models import TeamKind
from leads.apis import LeadTransitionApi
from sla.api_filters import with_clock_flags
from sla.apis import ClockOutputSerializer
from sla.clocks import clocks_for
from sla_portal import policy
from sla_portal.api_base import (
    CsvExportMixin,
    EventTimeField,
    PortalApiMixin,
    TermDateField,
    TransitionApi,
    UserField,
    UserRefSerializer,
)
from sla_portal.api_plumbing import PortalCursorPagination

from .api_filters import MembershipApiFilter, MembershipEventApiFilter
from .models import (
    ChurnReason,
    EngagementActivity,
    EngagementKind,
    Membership,
    MembershipEvent,
    MembershipType,
    OnboardingStep,
    OnboardingTask,
)
from .services import (
    engagement_record,
    lead_convert,
    membership_assign,
    membership_churn,
    membership_mark_renewal_eligible,
    membership_renew,
    membership_sign,
    onboarding_start,
    onboarding_task_complete,
)

MAX_NOTE = 5000
MAX_POINTS = 10_000


def _contract_value() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)


# --- output ---------------------------------------------------------------------------------------------


class OnboardingTaskOutputSerializer(serializers.ModelSerializer):
    done_by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = OnboardingTask
        fields = ["step", "done_at", "done_by"]


class EngagementActivityOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = EngagementActivity
        fields = ["id", "membership", "kind", "at", "points", "detail"]


class MembershipOutputSerializer(serializers.ModelSerializer):
    owner = UserRefSerializer(read_only=True, allow_null=True)
    agreement_version = serializers.IntegerField(source="agreement.version", read_only=True)
    tasks = OnboardingTaskOutputSerializer(many=True, read_only=True, help_text="The onboarding checklist.")
    sla_breached = serializers.BooleanField(read_only=True, help_text="Has an overdue SLA clock now.")
    sla_at_risk = serializers.BooleanField(read_only=True, help_text="Has an SLA clock in its warning window.")

    class Meta:
        model = Membership
        fields = [
            "id",
            "lead",
            "handoff",
            "organisation",
            "contact_name",
            "email",
            "phone",
            "membership_type",
            "contract_value",
            "term_start",
            "term_end",
            "notes",
            "state",
            "state_changed_at",
            "signed_at",
            "onboarding_started_at",
            "onboarded_at",
            "engaged_at",
            "churned_at",
            "engagement_score",
            "churn_reason",
            "nps",
            "renewals",
            "owner",
            "agreement_version",
            "updated_at",
            "tasks",
            "sla_breached",
            "sla_at_risk",
        ]


class MembershipDetailOutputSerializer(MembershipOutputSerializer):
    recent_activities = serializers.SerializerMethodField(help_text="The latest 50 engagement activities.")
    clocks = serializers.SerializerMethodField()

    class Meta(MembershipOutputSerializer.Meta):
        fields = [*MembershipOutputSerializer.Meta.fields, "recent_activities", "clocks"]

    @extend_schema_field(EngagementActivityOutputSerializer(many=True))
    def get_recent_activities(self, membership: Membership) -> list[dict]:
        activities = membership.activities.order_by("-at", "-pk")[:50]
        return EngagementActivityOutputSerializer(activities, many=True).data

    @extend_schema_field(ClockOutputSerializer(many=True))
    def get_clocks(self, membership: Membership) -> list[dict]:
        return ClockOutputSerializer(clocks_for(membership).select_related("owner__team"), many=True).data


class MembershipEventOutputSerializer(serializers.ModelSerializer):
    actor = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = MembershipEvent
        fields = ["id", "membership", "kind", "from_state", "to_state", "actor", "at", "reason", "note", "data"]


def memberships_queryset(user):
    tasks = Prefetch("tasks", queryset=OnboardingTask.objects.select_related("done_by__team").order_by("pk"))
    return with_clock_flags(
        policy.memberships_visible(user).select_related("owner__team", "agreement").prefetch_related(tasks)
    )


# --- reads and signing ----------------------------------------------------------------------------------


class MembershipSignInputSerializer(serializers.Serializer):
    organisation = serializers.CharField(max_length=160)
    contact_name = serializers.CharField(max_length=160)
    email = serializers.EmailField(max_length=254)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    membership_type = serializers.ChoiceField(choices=MembershipType.choices)
    contract_value = _contract_value()
    term_start = TermDateField()
    term_end = TermDateField()
    notes = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")
    owner = UserField(required=False, allow_null=True, default=None, help_text="A Member Success user.")


@extend_schema_view(
    list=extend_schema(summary="Memberships with their onboarding checklist"),
    retrieve=extend_schema(summary="One membership, with recent engagement and its SLA clocks"),
    create=extend_schema(
        summary="Sign a member who joined without a lead (Member Success)",
        request=MembershipSignInputSerializer,
        responses={201: MembershipDetailOutputSerializer},
    ),
)
class MembershipViewSet(
    PortalApiMixin, CsvExportMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    queryset = Membership.objects.none()  # for the schema; requests use get_queryset()
    http_method_names = ["get", "post", "head", "options"]
    conflict_actions = {"create"}  # 409 when no agreement is active
    filterset_class = MembershipApiFilter
    ordering_fields = ["signed_at", "term_end", "engagement_score", "state_changed_at"]
    ordering = ["-signed_at", "-pk"]
    export_filename = "memberships"
    export_columns = [
        ("id", "id"),
        ("lead_id", "lead_id"),
        ("organisation", "organisation"),
        ("contact_name", "contact_name"),
        ("email", "email"),
        ("phone", "phone"),
        ("membership_type", "membership_type"),
        ("contract_value", "contract_value"),
        ("term_start", "term_start"),
        ("term_end", "term_end"),
        ("state", "state"),
        ("signed_at", "signed_at"),
        ("onboarded_at", "onboarded_at"),
        ("engaged_at", "engaged_at"),
        ("churned_at", "churned_at"),
        ("churn_reason", "churn_reason"),
        ("engagement_score", "engagement_score"),
        ("renewals", "renewals"),
        ("owner", "owner__username"),
        ("agreement_version", "agreement__version"),
    ]

    def get_queryset(self):
        return memberships_queryset(self.request.user)

    def get_serializer_class(self):
        return MembershipOutputSerializer if self.action == "list" else MembershipDetailOutputSerializer

    def create(self, request, *args, **kwargs):
        self.require(policy.can_act_for_team(request.user, TeamKind.MEMBER_SUCCESS), "Only Member Success signs.")
        data = MembershipSignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_sign(by=request.user, **data.validated_data)
        fresh = self.get_queryset().get(pk=membership.pk)
        return Response(MembershipDetailOutputSerializer(fresh).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="The audit trail of memberships (cursor-paginated)"),
    retrieve=extend_schema(summary="One membership event"),
)
class MembershipEventViewSet(PortalApiMixin, CsvExportMixin, viewsets.ReadOnlyModelViewSet):
    queryset = MembershipEvent.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = MembershipEventOutputSerializer
    filterset_class = MembershipEventApiFilter
    pagination_class = PortalCursorPagination
    ordering_fields = ["at"]
    ordering = ["-at"]
    export_filename = "membership-events"
    export_columns = [
        ("id", "id"),
        ("membership_id", "membership_id"),
        ("kind", "kind"),
        ("from_state", "from_state"),
        ("to_state", "to_state"),
        ("actor", "actor__username"),
        ("at", "at"),
        ("reason", "reason"),
        ("note", "note"),
    ]

    def get_queryset(self):
        return MembershipEvent.objects.filter(
            membership__in=policy.memberships_visible(self.request.user).values("pk")
        ).select_related("actor__team")


# --- transitions ----------------------------------------------------------------------------------------


class LeadConvertApi(LeadTransitionApi):
    """Outreach signs the member: the lead converts and Member Success gets the membership with full context."""

    OutputSerializer = MembershipDetailOutputSerializer

    class InputSerializer(serializers.Serializer):
        membership_type = serializers.ChoiceField(choices=MembershipType.choices)
        contract_value = _contract_value()
        term_start = TermDateField()
        term_end = TermDateField()
        notes = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")
        owner = UserField(required=False, allow_null=True, default=None, help_text="A Member Success user.")

    @extend_schema(
        summary="Convert an accepted lead into a member",
        request=InputSerializer,
        responses={201: MembershipDetailOutputSerializer},
    )
    def post(self, request, id):
        lead = self.lead_for_action(request, id)
        data = self.input(request)
        membership = lead_convert(lead=lead, by=request.user, **data)
        fresh = memberships_queryset(request.user).get(pk=membership.pk)
        return self.answer(fresh, status_code=status.HTTP_201_CREATED)


class MembershipTransitionApi(TransitionApi):
    OutputSerializer = MembershipDetailOutputSerializer

    def visible(self, user):
        return memberships_queryset(user)

    def membership_for_action(self, request, id) -> Membership:
        membership = self.subject(request, id)
        self.require(policy.can_act_on_membership(request.user, membership), "Only Member Success acts on members.")
        return membership

    def fresh(self, membership: Membership, *, status_code: int = 200):
        return self.answer(self.visible(self.request.user).get(pk=membership.pk), status_code=status_code)


class MembershipOnboardingStartApi(MembershipTransitionApi):
    @extend_schema(
        summary="Start onboarding a signed member", request=None, responses={200: MembershipDetailOutputSerializer}
    )
    def post(self, request, id):
        membership = self.membership_for_action(request, id)
        onboarding_start(membership=membership, by=request.user)
        return self.fresh(membership)


class MembershipStepCompleteApi(MembershipTransitionApi):
    class InputSerializer(serializers.Serializer):
        step = serializers.ChoiceField(choices=OnboardingStep.choices)

    @extend_schema(
        summary="Tick an onboarding step (the welcome step makes the member onboarded)",
        request=InputSerializer,
        responses={200: MembershipDetailOutputSerializer},
    )
    def post(self, request, id):
        membership = self.membership_for_action(request, id)
        data = self.input(request)
        onboarding_task_complete(membership=membership, step=data["step"], by=request.user)
        return self.fresh(membership)


class MembershipEngagementCreateApi(MembershipTransitionApi):
    OutputSerializer = EngagementActivityOutputSerializer

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=EngagementKind.choices)
        at = EventTimeField(required=False, default=None, help_text="When it happened; default now.")
        points = serializers.IntegerField(
            required=False, allow_null=True, default=None, min_value=0, max_value=MAX_POINTS
        )
        detail = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    @extend_schema(
        summary="Record engagement (may make the member engaged)",
        request=InputSerializer,
        responses={201: EngagementActivityOutputSerializer},
    )
    def post(self, request, id):
        membership = self.membership_for_action(request, id)
        data = self.input(request)
        activity = engagement_record(membership=membership, by=request.user, **data)
        return self.answer(activity, status_code=status.HTTP_201_CREATED)


class MembershipRenewalEligibleApi(MembershipTransitionApi):
    @extend_schema(
        summary="Mark a member renewal eligible (409 says which condition is not met)",
        request=None,
        responses={200: MembershipDetailOutputSerializer},
    )
    def post(self, request, id):
        membership = self.membership_for_action(request, id)
        membership_mark_renewal_eligible(membership=membership, by=request.user)
        return self.fresh(membership)


class MembershipRenewApi(MembershipTransitionApi):
    class InputSerializer(serializers.Serializer):
        new_term_end = TermDateField()
        contract_value = serializers.DecimalField(
            max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
        )

    @extend_schema(
        summary="Renew a renewal-eligible member",
        request=InputSerializer,
        responses={200: MembershipDetailOutputSerializer},
    )
    def post(self, request, id):
        membership = self.membership_for_action(request, id)
        data = self.input(request)
        membership_renew(membership=membership, by=request.user, **data)
        return self.fresh(membership)


class MembershipChurnApi(MembershipTransitionApi):
    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(choices=ChurnReason.choices)
        note = serializers.CharField(
            max_length=MAX_NOTE, required=False, allow_blank=True, default="", help_text="Required for 'other'."
        )

    @extend_schema(
        summary="Record that a member left, with a coded reason",
        request=InputSerializer,
        responses={200: MembershipDetailOutputSerializer},
    )
    def post(self, request, id):
        membership = self.membership_for_action(request, id)
        data = self.input(request)
        membership_churn(membership=membership, by=request.user, **data)
        return self.fresh(membership)


class MembershipAssignApi(MembershipTransitionApi):
    class InputSerializer(serializers.Serializer):
        owner = UserField(allow_null=True, help_text="A Member Success user; null: nobody.")

    @extend_schema(
        summary="Give a member to someone in Member Success (team leads)",
        request=InputSerializer,
        responses={200: MembershipDetailOutputSerializer},
    )
    def post(self, request, id):
        membership = self.subject(request, id)
        self.require(
            policy.can_reassign_for_team(request.user, TeamKind.MEMBER_SUCCESS),
            "Only Member Success's team lead reassigns members.",
        )
        data = self.input(request)
        membership_assign(membership=membership, owner=data["owner"], by=request.user)
        return self.fresh(membership)
