"""Every API route, mounted at /api/ by sla_portal/urls.py. Resources come from a router; each transition is a
POST on its resource (`/api/leads/{id}/hand-off/`, `/api/handoffs/{id}/accept/`, …)."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.urls import include, path, re_path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from handoffs.apis import (
    ContactAttemptViewSet,
    HandoffAcceptApi,
    HandoffRejectApi,
    HandoffViewSet,
    LeadAttemptCreateApi,
    LeadHandOffApi,
)
from leads.apis import (
    LeadAssignApi,
    LeadDisqualifyApi,
    LeadEventViewSet,
    LeadIntakeApi,
    LeadQualifyApi,
    LeadRecycleApi,
    LeadTouchpointCreateApi,
    LeadViewSet,
    TouchpointViewSet,
)
from onboarding.apis import (
    LeadConvertApi,
    MembershipAssignApi,
    MembershipChurnApi,
    MembershipEngagementCreateApi,
    MembershipEventViewSet,
    MembershipOnboardingStartApi,
    MembershipRenewalEligibleApi,
    MembershipRenewApi,
    MembershipStepCompleteApi,
    MembershipViewSet,
)
from sla.apis import (
    ActiveAgreementApi,
    AgreementViewSet,
    EscalationAcknowledgeApi,
    EscalationResolveApi,
    EscalationViewSet,
    KpiResultViewSet,
    PlanAcceptApi,
    PlanSubmitApi,
    PlanViewSet,
)
from sla_portal.api_plumbing import TokenRateThrottle

router = DefaultRouter()
router.register("leads", LeadViewSet, basename="lead")
router.register("touchpoints", TouchpointViewSet, basename="touchpoint")
router.register("lead-events", LeadEventViewSet, basename="lead-event")
router.register("handoffs", HandoffViewSet, basename="handoff")
router.register("attempts", ContactAttemptViewSet, basename="attempt")
router.register("memberships", MembershipViewSet, basename="membership")
router.register("membership-events", MembershipEventViewSet, basename="membership-event")
router.register("agreements", AgreementViewSet, basename="agreement")
router.register("escalations", EscalationViewSet, basename="escalation")
router.register("plans", PlanViewSet, basename="plan")
router.register("kpi-results", KpiResultViewSet, basename="kpi-result")

ID = r"(?P<id>[^/]+)"  # any segment: a malformed id is the view's JSON 404, not the HTML one


def transition(resource: str, verb: str, view, name: str):
    return re_path(rf"^{resource}/{ID}/{verb}/$", view.as_view(), name=name)


def api_not_found(request, *args, **kwargs):
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


transitions = [
    transition("leads", "qualify", LeadQualifyApi, "lead-qualify"),
    transition("leads", "recycle", LeadRecycleApi, "lead-recycle"),
    transition("leads", "disqualify", LeadDisqualifyApi, "lead-disqualify"),
    transition("leads", "assign", LeadAssignApi, "lead-assign"),
    transition("leads", "touchpoints", LeadTouchpointCreateApi, "lead-touchpoint-create"),
    transition("leads", "hand-off", LeadHandOffApi, "lead-hand-off"),
    transition("leads", "attempts", LeadAttemptCreateApi, "lead-attempt-create"),
    transition("leads", "convert", LeadConvertApi, "lead-convert"),
    transition("handoffs", "accept", HandoffAcceptApi, "handoff-accept"),
    transition("handoffs", "reject", HandoffRejectApi, "handoff-reject"),
    transition("memberships", "start-onboarding", MembershipOnboardingStartApi, "membership-onboarding-start"),
    transition("memberships", "complete-step", MembershipStepCompleteApi, "membership-step-complete"),
    transition("memberships", "engagements", MembershipEngagementCreateApi, "membership-engagement-create"),
    transition("memberships", "mark-renewal-eligible", MembershipRenewalEligibleApi, "membership-renewal-eligible"),
    transition("memberships", "renew", MembershipRenewApi, "membership-renew"),
    transition("memberships", "churn", MembershipChurnApi, "membership-churn"),
    transition("memberships", "assign", MembershipAssignApi, "membership-assign"),
    transition("escalations", "acknowledge", EscalationAcknowledgeApi, "escalation-acknowledge"),
    transition("escalations", "resolve", EscalationResolveApi, "escalation-resolve"),
    transition("plans", "submit", PlanSubmitApi, "plan-submit"),
    transition("plans", "accept", PlanAcceptApi, "plan-accept"),
]

# Choice sets shared by several fields get one readable component name each (passed to the schema view, so
# SPECTACULAR_SETTINGS in settings.py stays as it is).
SCHEMA_SETTINGS = {
    "ENUM_NAME_OVERRIDES": {
        "LeadStateEnum": "leads.models.LeadState",
        "LeadSourceEnum": "leads.models.LeadSource",
        "LeadEventKindEnum": "leads.models.LeadEventKind",
        "TouchpointKindEnum": "leads.models.TouchpointKind",
        "RejectReasonEnum": "leads.models.RejectReason",
        "DisqualifyReasonEnum": "leads.models.DisqualifyReason",
        "RecycleReasonEnum": "leads.models.RecycleReason",
        "TeamKindEnum": "accounts.models.TeamKind",
        "RoleEnum": "accounts.models.Role",
        "HandoffKindEnum": "handoffs.models.Handoff.Kind",
        "HandoffStatusEnum": "handoffs.models.Handoff.Status",
        "MemberStateEnum": "onboarding.models.MemberState",
        "MembershipEventKindEnum": "onboarding.models.MembershipEventKind",
        "EngagementKindEnum": "onboarding.models.EngagementKind",
        "ChurnReasonEnum": "onboarding.models.ChurnReason",
        "ClockStateEnum": "sla.models.ClockState",
        "CommitmentEnum": "sla.models.Commitment",
        "EscalationKindEnum": "sla.models.EscalationKind",
        "EscalationStatusEnum": "sla.models.Escalation.Status",
        "PlanKindEnum": "sla.models.Plan.Kind",
        "PlanStatusEnum": "sla.models.Plan.Status",
        "AgreementStatusEnum": "sla.models.Agreement.Status",
    },
}


class SchemaApi(SpectacularAPIView):
    """The OpenAPI 3 document. Public like any API description (it holds no data), so client generators and
    contract tests can fetch it; the interactive docs and every operation need a signed-in user or a token."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenRateThrottle]  # generating it costs a second of CPU: no free amplifier
    custom_settings = SCHEMA_SETTINGS

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


app_name = "api"
urlpatterns = [
    path("schema/", SchemaApi.as_view(), name="schema"),
    path("docs/", login_required(SpectacularSwaggerView.as_view(url_name="api:schema")), name="docs"),
    path("intake/", LeadIntakeApi.as_view(), name="intake"),
    path("agreement/", ActiveAgreementApi.as_view(), name="agreement-active"),
    *transitions,
    path("", include(router.urls)),
    # Anything else under /api/ (with its trailing slash, so APPEND_SLASH still redirects) is a JSON 404.
    re_path(r"^.*/$", api_not_found),
]
