from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from accounts.models import TeamKind
from sla.models import ImmutableModel


class LeadState(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    MQL = "mql", "MQL"
    HANDED_OFF = "handed_off", "Handed off to Outreach"
    REJECTED = "rejected", "Rejected to Marketing"
    SQL = "sql", "SQL"
    WORKING = "working", "In contact"
    CONVERTED = "converted", "Converted to member"
    RECYCLED = "recycled", "Recycled to nurture"
    DISQUALIFIED = "disqualified", "Disqualified"


# The lifecycle as data: every transition a service may make, and nothing else.
LEAD_TRANSITIONS: dict[str, frozenset[str]] = {
    LeadState.PROSPECT: frozenset({LeadState.MQL, LeadState.DISQUALIFIED}),
    LeadState.MQL: frozenset({LeadState.HANDED_OFF, LeadState.RECYCLED, LeadState.DISQUALIFIED}),
    LeadState.HANDED_OFF: frozenset({LeadState.SQL, LeadState.REJECTED}),
    LeadState.REJECTED: frozenset({LeadState.HANDED_OFF, LeadState.RECYCLED, LeadState.DISQUALIFIED}),
    LeadState.SQL: frozenset({LeadState.WORKING, LeadState.CONVERTED, LeadState.RECYCLED, LeadState.DISQUALIFIED}),
    LeadState.WORKING: frozenset({LeadState.CONVERTED, LeadState.RECYCLED, LeadState.DISQUALIFIED}),
    LeadState.RECYCLED: frozenset({LeadState.MQL, LeadState.DISQUALIFIED}),
    LeadState.CONVERTED: frozenset(),
    LeadState.DISQUALIFIED: frozenset(),
}

# Which team works a lead in each state: the queue it shows up in.
STATE_TEAM: dict[str, str] = {
    LeadState.PROSPECT: TeamKind.MARKETING,
    LeadState.MQL: TeamKind.MARKETING,
    LeadState.REJECTED: TeamKind.MARKETING,
    LeadState.RECYCLED: TeamKind.MARKETING,
    LeadState.HANDED_OFF: TeamKind.OUTREACH,
    LeadState.SQL: TeamKind.OUTREACH,
    LeadState.WORKING: TeamKind.OUTREACH,
    LeadState.CONVERTED: TeamKind.MEMBER_SUCCESS,
    LeadState.DISQUALIFIED: TeamKind.MARKETING,
}


class LeadSource(models.TextChoices):
    WEBSITE = "website", "Website form"
    WEBINAR = "webinar", "Webinar"
    EVENT = "event", "Event"
    REFERRAL = "referral", "Member referral"
    PAID = "paid", "Paid campaign"
    EMAIL = "email", "E-mail campaign"
    IMPORT = "import", "Import"
    OTHER = "other", "Other"


class OrgSize(models.IntegerChoices):
    UNKNOWN = 0, "Unknown"
    MICRO = 5, "1–9"
    SMALL = 25, "10–49"
    MEDIUM = 150, "50–249"
    LARGE = 500, "250+"


class RejectReason(models.TextChoices):
    """Why Outreach sent a hand-off back: the feedback loop's codes."""

    FIT = "fit", "Not a fit for the IMP"
    INTEREST = "interest", "No real interest"
    DATA_INCOMPLETE = "data_incomplete", "Data incomplete"
    DUPLICATE = "duplicate", "Duplicate"
    TIMING = "timing", "Wrong timing"
    OTHER = "other", "Other"


class DisqualifyReason(models.TextChoices):
    NO_BUDGET = "no_budget", "No budget"
    NO_AUTHORITY = "no_authority", "No authority"
    NOT_A_FIT = "not_a_fit", "Not a fit"
    UNRESPONSIVE = "unresponsive", "Unresponsive"
    COMPETITOR = "competitor", "Went to a competitor"
    DUPLICATE = "duplicate", "Duplicate"
    OTHER = "other", "Other"


class RecycleReason(models.TextChoices):
    NOT_READY = "not_ready", "Not ready yet"
    TIMING = "timing", "Timing / budget cycle"
    NEEDS_NURTURE = "needs_nurture", "Needs more nurture"
    UNRESPONSIVE = "unresponsive", "No response after follow-ups"
    OTHER = "other", "Other"


class Lead(models.Model):
    """A prospect on its way to membership; its state only moves through leads.services."""

    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80, blank=True)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=120, blank=True)
    organisation = models.CharField(max_length=160, blank=True)
    # Ideal Member Profile attributes
    sector = models.CharField(max_length=80, blank=True)
    region = models.CharField(max_length=80, blank=True)
    employees = models.PositiveIntegerField(choices=OrgSize.choices, default=OrgSize.UNKNOWN)
    source = models.CharField(max_length=16, choices=LeadSource.choices, default=LeadSource.WEBSITE)
    campaign = models.CharField(max_length=120, blank=True)
    interest = models.TextField(blank=True, help_text="What they are interested in: context for Outreach.")

    imp_fit = models.BooleanField(default=False)
    fit_score = models.PositiveIntegerField(default=0)
    intent_score = models.PositiveIntegerField(default=0)
    score = models.PositiveIntegerField(default=0, db_index=True)
    touchpoint_count = models.PositiveIntegerField(default=0)

    state = models.CharField(max_length=16, choices=LeadState.choices, default=LeadState.PROSPECT)
    state_changed_at = models.DateTimeField()
    team = models.CharField(max_length=20, choices=TeamKind.choices, default=TeamKind.MARKETING)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    # The agreement version the lead qualified under: its terms follow the lead to the end.
    agreement = models.ForeignKey("sla.Agreement", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    last_reason = models.CharField(max_length=24, blank=True)

    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(Lower("email"), name="lead_email_unique_ci")]
        indexes = [
            models.Index(fields=["state", "team"]),
            models.Index(fields=["owner", "state"]),
            models.Index(fields=["source", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.organisation or self.email})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def can_move_to(self, state: str) -> bool:
        return state in LEAD_TRANSITIONS[self.state]


class TouchpointKind(models.TextChoices):
    DOWNLOAD = "download", "Content download"
    WEBINAR = "webinar", "Webinar attended"
    EVENT = "event", "Event attended"
    EMAIL_OPEN = "email_open", "E-mail opened"
    EMAIL_CLICK = "email_click", "E-mail link clicked"
    FORM = "form", "Form submitted"
    VISIT = "visit", "Website visit"


# Intent points per touchpoint kind, when the caller does not give its own.
TOUCHPOINT_POINTS: dict[str, int] = {
    TouchpointKind.DOWNLOAD: 10,
    TouchpointKind.WEBINAR: 20,
    TouchpointKind.EVENT: 25,
    TouchpointKind.EMAIL_OPEN: 2,
    TouchpointKind.EMAIL_CLICK: 5,
    TouchpointKind.FORM: 15,
    TouchpointKind.VISIT: 1,
}


class Touchpoint(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="touchpoints")
    kind = models.CharField(max_length=16, choices=TouchpointKind.choices)
    at = models.DateTimeField()
    points = models.PositiveIntegerField()
    campaign = models.CharField(max_length=120, blank=True)
    detail = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["lead", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"


class LeadEventKind(models.TextChoices):
    CREATED = "created", "Created"
    TOUCHPOINT = "touchpoint", "Touchpoint recorded"
    MQL_QUALIFIED = "mql_qualified", "Qualified as MQL"
    HANDOFF_CREATED = "handoff_created", "Handed off to Outreach"
    HANDOFF_ACCEPTED = "handoff_accepted", "Accepted as SQL"
    HANDOFF_REJECTED = "handoff_rejected", "Rejected to Marketing"
    ATTEMPT_LOGGED = "attempt_logged", "Contact attempt logged"
    CONVERTED = "converted", "Converted to member"
    RECYCLED = "recycled", "Recycled to nurture"
    DISQUALIFIED = "disqualified", "Disqualified"
    REASSIGNED = "reassigned", "Reassigned"


class LeadEvent(ImmutableModel):
    """The audit trail of a lead and the source for funnel metrics."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=LeadEventKind.choices)
    from_state = models.CharField(max_length=16, choices=LeadState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=LeadState.choices, blank=True)
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
        indexes = [models.Index(fields=["kind", "at"]), models.Index(fields=["lead", "at"])]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.kind} {self.from_state}→{self.to_state}"


# --- issue 6: imports and idempotent API requests -------------------------------------------------


def import_storage():
    """Uploaded CSV files live under the var/ folder the web process and the worker share."""
    from .storage import ImportStorage

    return ImportStorage()


class ImportJob(models.Model):
    """One CSV import from the browser: the file, its column mapping, the dry run's verdict and progress.

    The import itself is all-or-nothing: rows are checked first, and written in one transaction only when
    every row is valid. Progress is kept here so the page can poll it."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded – map the columns"
        CHECKING = "checking", "Checking (dry run)"
        CHECKED = "checked", "Checked"
        QUEUED = "queued", "Waiting for a worker"
        IMPORTING = "importing", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Not imported"

    class Phase(models.TextChoices):
        VALIDATING = "validating", "Checking rows"
        WRITING = "writing", "Writing"

    file = models.FileField(storage=import_storage, upload_to="%Y/%m/", max_length=255, blank=True)
    original_name = models.CharField(max_length=255)
    size_bytes = models.PositiveBigIntegerField(default=0)
    encoding = models.CharField(max_length=20, default="utf-8-sig")
    delimiter = models.CharField(max_length=1, default=",")
    header = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True, help_text="Target field → CSV column name.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    phase = models.CharField(max_length=10, choices=Phase.choices, blank=True)
    progress_pct = models.PositiveSmallIntegerField(default=0)
    row_count = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first errors: [row, field, reason].")
    rows_for_existing = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    touchpoint_count = models.PositiveIntegerField(default=0)
    duplicate_touchpoints = models.PositiveIntegerField(default=0)
    qualified_count = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lead_imports")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["created_by", "created_at"])]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.original_name} ({self.get_status_display()})"

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.CHECKING, self.Status.QUEUED, self.Status.IMPORTING}


class IdempotencyRecord(models.Model):
    """The answer given to a request that carried an Idempotency-Key, replayed verbatim on a retry.

    Keys are scoped per user and operation, so two integrations cannot collide on the same key."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request that first used the key.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "scope", "key"], name="idempotency_key_once")]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
