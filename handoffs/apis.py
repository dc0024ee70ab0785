"""Hand-off API: the Marketing → Outreach hand-off (created on the lead, answered on the hand-off), the
hand-off list, and Outreach's contact attempts. Same services and policy checks as the screens."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets

from leads.apis import LeadRefSerializer, LeadTransitionApi
from leads.models import RejectReason
from sla_portal import policy
from sla_portal.api_base import (
    CsvExportMixin,
    EventTimeField,
    PortalApiMixin,
    TransitionApi,
    UserField,
    UserRefSerializer,
)
from sla_portal.api_plumbing import PortalCursorPagination

from .api_filters import ContactAttemptApiFilter, HandoffApiFilter
from .models import ContactAttempt, Handoff
from .services import attempt_log, handoff_accept, handoff_create, handoff_reject

MAX_NOTE = 5000


class HandoffOutputSerializer(serializers.ModelSerializer):
    lead = LeadRefSerializer(read_only=True)
    from_user = UserRefSerializer(read_only=True, allow_null=True)
    to_user = UserRefSerializer(read_only=True, allow_null=True)
    decided_by = UserRefSerializer(read_only=True, allow_null=True)
    agreement_version = serializers.IntegerField(source="agreement.version", read_only=True)

    class Meta:
        model = Handoff
        fields = [
            "id",
            "kind",
            "lead",
            "from_team",
            "to_team",
            "from_user",
            "to_user",
            "status",
            "created_at",
            "decided_at",
            "decided_by",
            "reject_reason",
            "note",
            "required_fields",
            "missing_fields",
            "is_complete",
            "context",
            "agreement_version",
        ]


class ContactAttemptOutputSerializer(serializers.ModelSerializer):
    by = UserRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ContactAttempt
        fields = ["id", "lead", "by", "at", "channel", "outcome", "note"]


def handoffs_visible(user):
    """A hand-off is visible with its lead (sla_portal.policy decides which leads a user sees)."""
    return Handoff.objects.filter(lead__in=policy.leads_visible(user).values("pk")).select_related(
        "lead", "from_user__team", "to_user__team", "decided_by__team", "agreement"
    )


@extend_schema_view(
    list=extend_schema(summary="Hand-offs of the leads visible to you"),
    retrieve=extend_schema(summary="One hand-off, with the context that travelled with the lead"),
)
class HandoffViewSet(PortalApiMixin, CsvExportMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Handoff.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = HandoffOutputSerializer
    filterset_class = HandoffApiFilter
    ordering_fields = ["created_at", "decided_at"]
    ordering = ["-created_at"]
    export_filename = "handoffs"
    export_columns = [
        ("id", "id"),
        ("kind", "kind"),
        ("lead_id", "lead_id"),
        ("email", "lead__email"),
        ("from_team", "from_team"),
        ("to_team", "to_team"),
        ("from_user", "from_user__username"),
        ("to_user", "to_user__username"),
        ("status", "status"),
        ("created_at", "created_at"),
        ("decided_at", "decided_at"),
        ("reject_reason", "reject_reason"),
        ("is_complete", "is_complete"),
        ("missing_fields", "missing_fields"),
        ("agreement_version", "agreement__version"),
    ]

    def get_queryset(self):
        return handoffs_visible(self.request.user)


@extend_schema_view(
    list=extend_schema(summary="Contact attempts on the leads visible to you (cursor-paginated)"),
    retrieve=extend_schema(summary="One contact attempt"),
)
class ContactAttemptViewSet(PortalApiMixin, CsvExportMixin, viewsets.ReadOnlyModelViewSet):
    queryset = ContactAttempt.objects.none()  # for the schema; requests use get_queryset()
    serializer_class = ContactAttemptOutputSerializer
    filterset_class = ContactAttemptApiFilter
    pagination_class = PortalCursorPagination
    ordering_fields = ["at"]
    ordering = ["-at"]
    export_filename = "contact-attempts"
    export_columns = [
        ("id", "id"),
        ("lead_id", "lead_id"),
        ("email", "lead__email"),
        ("by", "by__username"),
        ("at", "at"),
        ("channel", "channel"),
        ("outcome", "outcome"),
        ("note", "note"),
    ]

    def get_queryset(self):
        return ContactAttempt.objects.filter(
            lead__in=policy.leads_visible(self.request.user).values("pk")
        ).select_related("by__team")


# --- transitions ----------------------------------------------------------------------------------------


class LeadHandOffApi(LeadTransitionApi):
    """Marketing hands an MQL (or a fixed rejected lead) to Outreach."""

    OutputSerializer = HandoffOutputSerializer

    class InputSerializer(serializers.Serializer):
        to_user = UserField(required=False, allow_null=True, default=None, help_text="An Outreach rep, or nobody.")
        note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")

    @extend_schema(
        summary="Hand a lead off to Outreach",
        description="Records which required fields were missing; 409 when the lead is not an MQL or rejected lead, "
        "or when Marketing's hand-offs are paused.",
        request=InputSerializer,
        responses={201: HandoffOutputSerializer},
    )
    def post(self, request, id):
        lead = self.lead_for_action(request, id)
        data = self.input(request)
        handoff = handoff_create(lead=lead, by=request.user, to_user=data["to_user"], note=data["note"])
        return self.answer(handoffs_visible(request.user).get(pk=handoff.pk), status_code=status.HTTP_201_CREATED)


class LeadAttemptCreateApi(LeadTransitionApi):
    """Outreach logs a call, e-mail or meeting on an accepted lead; counts towards the follow-up commitment."""

    OutputSerializer = ContactAttemptOutputSerializer

    class InputSerializer(serializers.Serializer):
        channel = serializers.ChoiceField(choices=ContactAttempt.Channel.choices)
        outcome = serializers.ChoiceField(choices=ContactAttempt.Outcome.choices)
        note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")
        at = EventTimeField(required=False, default=None, help_text="When it happened; default now.")

    @extend_schema(
        summary="Log a contact attempt on a lead",
        request=InputSerializer,
        responses={201: ContactAttemptOutputSerializer},
    )
    def post(self, request, id):
        lead = self.lead_for_action(request, id)
        data = self.input(request)
        attempt = attempt_log(lead=lead, by=request.user, **data)
        return self.answer(attempt, status_code=status.HTTP_201_CREATED)


class HandoffTransitionApi(TransitionApi):
    OutputSerializer = HandoffOutputSerializer

    def visible(self, user):
        return handoffs_visible(user)

    def handoff_for_action(self, request, id) -> Handoff:
        handoff = self.subject(request, id)
        self.require(
            policy.can_act_for_team(request.user, handoff.to_team),
            f"Only {handoff.get_to_team_display()} answers this hand-off.",
        )
        return handoff

    def fresh(self, handoff: Handoff):
        return self.answer(Handoff.objects.select_related(*HANDOFF_RELATED).get(pk=handoff.pk))


HANDOFF_RELATED = ("lead", "from_user__team", "to_user__team", "decided_by__team", "agreement")


class HandoffAcceptApi(HandoffTransitionApi):
    @extend_schema(
        summary="Accept a hand-off: the lead becomes an SQL", request=None, responses={200: HandoffOutputSerializer}
    )
    def post(self, request, id):
        handoff = self.handoff_for_action(request, id)
        handoff_accept(handoff=handoff, by=request.user)
        return self.fresh(handoff)


class HandoffRejectApi(HandoffTransitionApi):
    class InputSerializer(serializers.Serializer):
        reason = serializers.ChoiceField(choices=RejectReason.choices)
        note = serializers.CharField(
            max_length=MAX_NOTE, required=False, allow_blank=True, default="", help_text="Required for 'other'."
        )

    @extend_schema(
        summary="Reject a hand-off back to Marketing with a coded reason",
        request=InputSerializer,
        responses={200: HandoffOutputSerializer},
    )
    def post(self, request, id):
        handoff = self.handoff_for_action(request, id)
        data = self.input(request)
        handoff_reject(handoff=handoff, by=request.user, **data)
        return self.fresh(handoff)
