from django.conf import settings
from django.db import models

from accounts.models import TeamKind
from sla.models import ImmutableModel


class MemberState(models.TextChoices):
    SIGNED = "signed", "Signed"
    ONBOARDING = "onboarding", "Onboarding"
    ONBOARDED = "onboarded", "Onboarded"
    ENGAGED = "engaged", "Engaged"
    RENEWAL_ELIGIBLE = "renewal_eligible", "Renewal eligible"
    RENEWED = "renewed", "Renewed"
    CHURNED = "churned", "Churned"


MEMBER_TRANSITIONS: dict[str, frozenset[str]] = {
    MemberState.SIGNED: frozenset({MemberState.ONBOARDING, MemberState.CHURNED}),
    MemberState.ONBOARDING: frozenset({MemberState.ONBOARDED, MemberState.CHURNED}),
    MemberState.ONBOARDED: frozenset({MemberState.ENGAGED, MemberState.RENEWAL_ELIGIBLE, MemberState.CHURNED}),
    MemberState.ENGAGED: frozenset({MemberState.RENEWAL_ELIGIBLE, MemberState.CHURNED}),
    MemberState.RENEWAL_ELIGIBLE: frozenset({MemberState.RENEWED, MemberState.CHURNED}),
    MemberState.RENEWED: frozenset({MemberState.RENEWAL_ELIGIBLE, MemberState.CHURNED}),
    MemberState.CHURNED: frozenset(),
}

ACTIVE_MEMBER_STATES = frozenset(set(MemberState.values) - {MemberState.CHURNED})


class MembershipType(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    SMALL_BUSINESS = "small_business", "Small business"
    CORPORATE = "corporate", "Corporate"
    PATRON = "patron", "Patron"


class ChurnReason(models.TextChoices):
    PRICE = "price", "Price / budget"
    NO_VALUE = "no_value", "Did not see the value"
    ONBOARDING_DELAYED = "onboarding_delayed", "Onboarding delayed or poor"
    LOW_ENGAGEMENT = "low_engagement", "Never engaged"
    BUSINESS_CLOSED = "business_closed", "Business closed or merged"
    COMPETITOR = "competitor", "Joined another organisation"
    OTHER = "other", "Other"


class Membership(models.Model):
    """A member organisation's membership; its state only moves through onboarding.services."""

    lead = models.OneToOneField(
        "leads.Lead", null=True, blank=True, on_delete=models.PROTECT, related_name="membership"
    )
    handoff = models.OneToOneField(
        "handoffs.Handoff", null=True, blank=True, on_delete=models.PROTECT, related_name="membership"
    )
    organisation = models.CharField(max_length=160)
    contact_name = models.CharField(max_length=160)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    membership_type = models.CharField(max_length=16, choices=MembershipType.choices)
    contract_value = models.DecimalField(max_digits=10, decimal_places=2)
    term_start = models.DateField()
    term_end = models.DateField()
    notes = models.TextField(blank=True, help_text="Expectations and context from Outreach.")

    state = models.CharField(max_length=16, choices=MemberState.choices, default=MemberState.SIGNED)
    state_changed_at = models.DateTimeField()
    signed_at = models.DateTimeField()
    onboarding_started_at = models.DateTimeField(null=True, blank=True)
    onboarded_at = models.DateTimeField(null=True, blank=True)
    engaged_at = models.DateTimeField(null=True, blank=True)
    churned_at = models.DateTimeField(null=True, blank=True)
    engagement_score = models.PositiveIntegerField(default=0)
    churn_reason = models.CharField(max_length=20, choices=ChurnReason.choices, blank=True)
    nps = models.SmallIntegerField(null=True, blank=True, help_text="Net Promoter answer 0–10 after onboarding.")
    renewals = models.PositiveIntegerField(default=0)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="memberships"
    )
    agreement = models.ForeignKey("sla.Agreement", on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-signed_at"]
        indexes = [
            models.Index(fields=["state", "term_end"]),
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["signed_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(term_end__gt=models.F("term_start")), name="term_ends_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(nps__isnull=True) | models.Q(nps__gte=0, nps__lte=10), name="nps_0_to_10"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} ({self.get_membership_type_display()})"

    def can_move_to(self, state: str) -> bool:
        return state in MEMBER_TRANSITIONS[self.state]


class OnboardingStep(models.TextChoices):
    WELCOME = "welcome", "Welcome kit / e-mail sent"
    KICKOFF_CALL = "kickoff_call", "Kick-off call held"
    PORTAL_ACCESS = "portal_access", "Member portal access set up"
    FIRST_EVENT_INVITE = "first_event_invite", "Invited to a first event"


class OnboardingTask(models.Model):
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="tasks")
    step = models.CharField(max_length=20, choices=OnboardingStep.choices)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["membership", "pk"]
        constraints = [models.UniqueConstraint(fields=["membership", "step"], name="one_task_per_step")]

    def __str__(self) -> str:
        return f"{self.get_step_display()} ({'done' if self.done_at else 'open'})"


class EngagementKind(models.TextChoices):
    EVENT = "event", "Event attended"
    WEBINAR = "webinar", "Webinar attended"
    COMMUNITY = "community", "Community post"
    PORTAL_LOGIN = "portal_login", "Portal log-in"
    COMMITTEE = "committee", "Committee / volunteering"


ENGAGEMENT_POINTS: dict[str, int] = {
    EngagementKind.EVENT: 15,
    EngagementKind.WEBINAR: 10,
    EngagementKind.COMMUNITY: 5,
    EngagementKind.PORTAL_LOGIN: 2,
    EngagementKind.COMMITTEE: 20,
}


class EngagementActivity(models.Model):
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=16, choices=EngagementKind.choices)
    at = models.DateTimeField()
    points = models.PositiveIntegerField()
    detail = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "engagement activities"
        indexes = [models.Index(fields=["membership", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} +{self.points}"


class MembershipEventKind(models.TextChoices):
    SIGNED = "signed", "Signed"
    ONBOARDING_STARTED = "onboarding_started", "Onboarding started"
    TASK_DONE = "task_done", "Onboarding step done"
    ONBOARDED = "onboarded", "Onboarded"
    ENGAGEMENT = "engagement", "Engagement recorded"
    ENGAGED = "engaged", "Reached engagement threshold"
    RENEWAL_ELIGIBLE = "renewal_eligible", "Became renewal eligible"
    RENEWED = "renewed", "Renewed"
    CHURNED = "churned", "Churned"
    REASSIGNED = "reassigned", "Reassigned"
    FLAGGED = "flagged", "Flagged to another team"
    FLAG_DONE = "flag_done", "Flag handled"


class MembershipEvent(ImmutableModel):
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=MembershipEventKind.choices)
    from_state = models.CharField(max_length=16, choices=MemberState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=MemberState.choices, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    reason = models.CharField(max_length=24, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    agreement = models.ForeignKey("sla.Agreement", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["kind", "at"]), models.Index(fields=["membership", "at"])]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.kind} {self.from_state}→{self.to_state}"


# --- flags from Member Success to the other teams (the work screens, issue 4) ---------------------------------


class FlagKind(models.TextChoices):
    UPSELL = "upsell", "Upsell opportunity (to Outreach)"
    NURTURE = "nurture", "Needs nurture (to Marketing)"


FLAG_TEAM: dict[str, str] = {FlagKind.UPSELL: TeamKind.OUTREACH, FlagKind.NURTURE: TeamKind.MARKETING}


class MembershipFlag(models.Model):
    """Member Success raising a member to another team, as the agreement asks: an upsell or renewal chance
    for Outreach, or a low-engagement member for Marketing's nurture. Open until that team handles it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Handled"

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=10, choices=FlagKind.choices)
    to_team = models.CharField(max_length=20, choices=TeamKind.choices)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["to_team", "status", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "kind"], condition=models.Q(status="open"), name="one_open_flag_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.membership_id} ({self.get_status_display()})"
