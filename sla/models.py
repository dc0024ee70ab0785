"""The agreement between Marketing, Outreach and Member Success, versioned, and its business calendars.

This app sits at the bottom of the stack: it knows teams and users, nothing about leads or members.
"""

import functools
from datetime import date, datetime, time
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import TeamKind

from .business_time import BusinessCalendarSpec, WorkingWindow


class ImmutableModel(models.Model):
    """Audit rows are written once: updating or deleting one is a bug, so refuse it loudly."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise RuntimeError(f"{type(self).__name__} rows are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError(f"{type(self).__name__} rows are immutable")


@functools.lru_cache(maxsize=64)
def public_holidays(country: str, subdivision: str, year: int) -> frozenset[date]:
    """Public holidays a few years either side of `year`; cached because every clock start asks."""
    import holidays

    return frozenset(
        holidays.country_holidays(country, subdiv=subdivision or None, years=range(year - 1, year + 4)).keys()
    )


class BusinessCalendar(models.Model):
    """Working hours and holidays in one time zone; commitments count time against one of these."""

    name = models.CharField(max_length=80, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA zone, e.g. Europe/London")
    always_open = models.BooleanField(default=False, help_text="24/7: ignore working hours and holidays.")
    holiday_country = models.CharField(
        max_length=8, blank=True, help_text="ISO country code whose public holidays close this calendar."
    )
    holiday_subdivision = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError({"time_zone": f"Unknown time zone {self.time_zone!r}."}) from exc
        if self.holiday_country:
            import holidays

            try:
                holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision or None)
            except NotImplementedError as exc:
                raise ValidationError({"holiday_country": str(exc)}) from exc

    def spec(self, *, around: datetime | None = None) -> BusinessCalendarSpec:
        """The pure calendar the deadline arithmetic runs on; holidays cover a few years around `around`."""
        if self.always_open:
            return BusinessCalendarSpec.always_open(self.time_zone)
        windows = tuple(WorkingWindow(weekday=h.weekday, start=h.start, end=h.end) for h in self.working_hours.all())
        year = (around or datetime.now()).year
        closed: set[date] = {h.date for h in self.holidays.all()}
        if self.holiday_country:
            closed |= public_holidays(self.holiday_country, self.holiday_subdivision, year)
        return BusinessCalendarSpec(tz=self.time_zone, windows=windows, holidays=frozenset(closed))


class WorkingHours(models.Model):
    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField(default=time(9))
    end = models.TimeField(default=time(17))

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="working_hours_end_after_start")
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class Holiday(models.Model):
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once_per_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class Commitment(models.TextChoices):
    MQL_HANDOFF = "mql_handoff", "Marketing hands off an MQL"
    FIRST_RESPONSE = "first_response", "Outreach first response"
    FOLLOW_UP = "follow_up", "Outreach follow-up attempts"
    DECISION = "decision", "Outreach decision (convert, recycle or disqualify)"
    ONBOARDING_START = "onboarding_start", "Member Success starts onboarding"
    WELCOME = "welcome", "Welcome communication sent"
    CRM_UPDATE = "crm_update", "CRM status updated after an action"
    RENEWAL_OUTREACH = "renewal_outreach", "Renewal outreach to an eligible member"
    # Deadlines the escalation rules set (business days from the agreement, not CommitmentTerm rows).
    CORRECTIVE_PLAN = "corrective_plan", "Corrective-action plan filed"
    REMEDIATION_PLAN = "remediation_plan", "Data remediation plan filed"
    REVIEW = "review", "Quarterly review held"


class DurationUnit(models.TextChoices):
    HOURS = "hours", "hours (of the calendar's working time)"
    BUSINESS_DAYS = "business_days", "business days"


class KpiMetric(models.TextChoices):
    MQL_VOLUME = "mql_volume", "Number of MQLs delivered"
    MQL_ACCEPTANCE_RATE = "mql_acceptance_rate", "% of MQLs accepted by Outreach"
    FIRST_RESPONSE_HOURS = "first_response_hours", "Response time to hand-off (median hours)"
    FIRST_RESPONSE_WITHIN_TARGET = "first_response_within_target", "% of hand-offs answered within target"
    SQL_TO_MEMBER_RATE = "sql_to_member_rate", "% of SQLs converted to member"
    ONBOARDED_WITHIN_TARGET = "onboarded_within_target", "% of new members onboarded within timeframe"
    RENEWAL_RATE = "renewal_rate", "Renewal rate at end of term"
    HANDOFF_COMPLETENESS = "handoff_completeness", "% of hand-offs with complete data"


class Comparator(models.TextChoices):
    AT_LEAST = "gte", "at least"
    AT_MOST = "lte", "at most"


class ReviewFrequency(models.TextChoices):
    MONTHLY = "monthly", "Monthly"
    QUARTERLY = "quarterly", "Quarterly"


DEFAULT_REQUIRED_HANDOFF_FIELDS = ["first_name", "last_name", "organisation", "email", "phone", "interest"]


class Agreement(models.Model):
    """One version of the three-team SLA. Drafts are editable; active and superseded versions are frozen,
    so work started under a version keeps its terms. Exactly one version is active."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Superseded"

    version = models.PositiveIntegerField(unique=True, editable=False)
    title = models.CharField(max_length=160, default="Internal SLA – Marketing / Outreach / Member Success")
    objective = models.TextField(
        blank=True,
        default="Ensure qualified prospects are handed off efficiently, converted into members, engaged and "
        "retained; with clear roles, metrics and feedback loops.",
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT, editable=False)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="amended_by", editable=False
    )
    effective_date = models.DateField(null=True, blank=True, help_text="Set when the version is activated.")
    review_date = models.DateField(help_text="Next quarterly review of this agreement.")
    parties = models.ManyToManyField("accounts.Team", related_name="agreements")

    # 1. Definitions
    imp_sectors = models.JSONField(
        default=list, blank=True, help_text="Sectors of the Ideal Member Profile; empty means any sector."
    )
    imp_regions = models.JSONField(default=list, blank=True, help_text="IMP regions; empty means any region.")
    imp_min_employees = models.PositiveIntegerField(default=0, help_text="IMP: minimum organisation size.")
    mql_min_touchpoints = models.PositiveIntegerField(default=2, help_text="X: touchpoints needed for MQL.")
    mql_min_score = models.PositiveIntegerField(default=50, help_text="Y: fit + intent score needed for MQL.")
    onboarded_within_days = models.PositiveIntegerField(
        default=14, help_text="Z: days from signing to welcome kit issued for 'member onboarded'."
    )
    renewal_window_days = models.PositiveIntegerField(
        default=60, help_text="N: a member is renewal eligible when the term ends within N days…"
    )
    renewal_min_engagement = models.PositiveIntegerField(default=30, help_text="…and engagement score ≥ E.")
    engaged_threshold = models.PositiveIntegerField(
        default=40, help_text="Engagement points that make a new member 'engaged'."
    )
    engagement_window_days = models.PositiveIntegerField(
        default=90, help_text="The engagement threshold must be reached within this many days of signing."
    )

    # 2. Commitments (deadlines live in CommitmentTerm rows)
    mqls_per_month = models.PositiveIntegerField(default=40)
    required_handoff_fields = models.JSONField(
        default=list, help_text="Lead fields a Marketing → Outreach hand-off must carry."
    )

    # 4. Escalation rules
    consecutive_misses_to_escalate = models.PositiveIntegerField(default=2, validators=[MinValueValidator(1)])
    corrective_plan_business_days = models.PositiveIntegerField(default=5, validators=[MinValueValidator(1)])
    max_incomplete_handoff_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("10"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Pause a team's hand-offs when more than this % of its hand-offs in a period miss fields.",
    )
    remediation_business_days = models.PositiveIntegerField(default=10, validators=[MinValueValidator(1)])
    review_reminder_days = models.PositiveIntegerField(default=7)
    escalation_calendar = models.ForeignKey(
        BusinessCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Calendar that counts the business days of corrective and remediation plans.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="only_one_active_agreement")
        ]

    def __str__(self) -> str:
        return f"SLA v{self.version} ({self.get_status_display()})"

    @property
    def is_frozen(self) -> bool:
        return self.status != self.Status.DRAFT

    def term(self, commitment: str) -> "CommitmentTerm":
        for term in self.terms.all():  # uses a prefetch when there is one
            if term.commitment == commitment:
                return term
        raise CommitmentTerm.DoesNotExist(f"{self} has no term for {commitment}")


class CommitmentTerm(models.Model):
    """A deadline the agreement sets: e.g. Outreach responds within 4 working hours of a hand-off."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="terms")
    commitment = models.CharField(max_length=24, choices=Commitment.choices)
    owner_team = models.CharField(max_length=20, choices=TeamKind.choices)
    amount = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit = models.CharField(max_length=16, choices=DurationUnit.choices, default=DurationUnit.HOURS)
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="+")
    warn_at_pct = models.PositiveIntegerField(
        default=75,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text="Warn the owner when this share of the allowed time has passed.",
    )
    required_count = models.PositiveIntegerField(
        default=1, help_text="Actions needed to meet it (e.g. N follow-up attempts)."
    )
    pausable = models.BooleanField(default=False, help_text="The clock may pause while waiting on the prospect.")

    class Meta:
        ordering = ["agreement", "commitment"]
        constraints = [models.UniqueConstraint(fields=["agreement", "commitment"], name="one_term_per_commitment")]

    def __str__(self) -> str:
        return f"{self.get_commitment_display()}: {self.amount} {self.get_unit_display()}"


class KpiTarget(models.Model):
    """A row of the agreement's KPI table."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="kpi_targets")
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="kpi_targets")
    metric = models.CharField(max_length=32, choices=KpiMetric.choices)
    comparator = models.CharField(max_length=3, choices=Comparator.choices, default=Comparator.AT_LEAST)
    target = models.DecimalField(max_digits=10, decimal_places=2)
    frequency = models.CharField(max_length=10, choices=ReviewFrequency.choices, default=ReviewFrequency.MONTHLY)

    class Meta:
        ordering = ["agreement", "team", "metric"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "team", "metric"], name="one_target_per_team_metric")
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.get_metric_display()} {self.get_comparator_display()} {self.target}"

    def is_met(self, value: Decimal | float | None) -> bool | None:
        if value is None:
            return None
        value = Decimal(str(value))
        return value >= self.target if self.comparator == Comparator.AT_LEAST else value <= self.target


class SignOff(models.Model):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="sign_offs")
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="+")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_on = models.DateField()
    signed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["agreement", "team"]
        constraints = [models.UniqueConstraint(fields=["agreement", "team"], name="one_sign_off_per_party")]

    def __str__(self) -> str:
        return f"{self.team} signed v{self.agreement.version} on {self.signed_on}"


class Amendment(models.Model):
    """The amendment log: what changed between versions, who changed it, and who was told."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="amendments")
    previous = models.ForeignKey(Agreement, null=True, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    summary = models.CharField(max_length=255)
    changes = models.JSONField(default=dict)
    notified = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+", blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"v{self.agreement.version}: {self.summary}"


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    CANCELLED = "cancelled", "Cancelled"


OPEN_CLOCK_STATES = (ClockState.RUNNING, ClockState.PAUSED)


class Clock(models.Model):
    """A running commitment: started by a trigger, stopped by the action that meets it.

    The subject (a lead, a membership, a plan) is referenced generically because this app sits below
    the apps that own those models. Deadlines are computed once, at start, under the version's terms."""

    commitment = models.CharField(max_length=24, choices=Commitment.choices)
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="clocks")
    term = models.ForeignKey(CommitmentTerm, null=True, blank=True, on_delete=models.PROTECT, related_name="clocks")
    subject_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT, related_name="+")
    subject_id = models.PositiveBigIntegerField()
    subject_label = models.CharField(max_length=200, blank=True)
    team = models.CharField(max_length=20, choices=TeamKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="clocks"
    )
    state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    started_at = models.DateTimeField()
    warn_at = models.DateTimeField()
    due_at = models.DateTimeField()
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    # Set in the transaction that records the breach escalation: the sweep's exactly-once marker.
    breach_escalated_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Business time still left when paused; resuming re-computes warn/due from it.
    remaining = models.DurationField(null=True, blank=True)
    remaining_to_warn = models.DurationField(null=True, blank=True)
    required_count = models.PositiveIntegerField(default=1)
    progress_count = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["due_at"]
        indexes = [
            # The sweeps read only the clocks that can still fire, so their cost follows the due ones.
            models.Index(
                fields=["warn_at"], condition=Q(state="running", warned_at__isnull=True), name="clock_warn_sweep"
            ),
            models.Index(fields=["due_at"], condition=Q(state="running"), name="clock_due_sweep"),
            models.Index(
                fields=["breached_at"],
                condition=Q(state="breached", breach_escalated_at__isnull=True),
                name="clock_late_stop_sweep",
            ),
            models.Index(fields=["subject_type", "subject_id", "commitment"], name="clock_subject"),
            models.Index(fields=["team", "state", "due_at"], name="clock_team_queue"),
            models.Index(fields=["owner", "state", "due_at"], name="clock_owner_queue"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "commitment"],
                condition=Q(state__in=["running", "paused"]),
                name="one_open_clock_per_commitment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_commitment_display()} – {self.subject_label} ({self.get_state_display()})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_CLOCK_STATES


class EscalationKind(models.TextChoices):
    CLOCK_WARNING = "clock_warning", "Deadline approaching"
    CLOCK_BREACH = "clock_breach", "Deadline missed"
    KPI_MISS = "kpi_miss", "KPI target missed repeatedly"
    PLAN_OVERDUE = "plan_overdue", "Plan overdue"
    DATA_INTEGRITY = "data_integrity", "Hand-off data quality below threshold"
    REVIEW_DUE = "review_due", "Quarterly review due"
    REVIEW_REMINDER = "review_reminder", "Quarterly review coming up"


class Escalation(models.Model):
    """A fact that somebody must act on. `key` makes each (cause, level) fire exactly once: a second sweep
    that finds the same breach collides on it instead of notifying twice."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=EscalationKind.choices)
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="escalations")
    clock = models.ForeignKey(Clock, null=True, blank=True, on_delete=models.CASCADE, related_name="escalations")
    kpi_result = models.ForeignKey(
        "KpiResult", null=True, blank=True, on_delete=models.CASCADE, related_name="escalations"
    )
    team = models.CharField(max_length=20, choices=TeamKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="escalations"
    )
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    url = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "status", "created_at"]), models.Index(fields=["owner", "status"])]

    def __str__(self) -> str:
        return self.title


class Notification(models.Model):
    """An inbox item for one user; e-mail and webhook copies go out through Delivery rows."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=255, blank=True)
    why = models.CharField(max_length=255, blank=True, help_text="Why this person was told (role in the ladder).")
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["recipient", "read_at", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "escalation"],
                condition=Q(escalation__isnull=False),
                name="one_notification_per_escalation_recipient",
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.title}"


class Delivery(models.Model):
    """The outbox: written in the same transaction as the escalation, sent afterwards with retries, so a
    crash or a broker outage delays a message but never loses or repeats it."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    target = models.CharField(max_length=255, help_text="E-mail address or webhook URL.")
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(help_text="Also the lease: a sender pushes it forward while sending.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"), name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.target} ({self.get_status_display()})"


class KpiResult(models.Model):
    """A KPI's value for one team and period, judged against the target of the version then active."""

    target = models.ForeignKey(KpiTarget, on_delete=models.PROTECT, related_name="results")
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="kpi_results")
    metric = models.CharField(max_length=32, choices=KpiMetric.choices)
    frequency = models.CharField(max_length=10, choices=ReviewFrequency.choices)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive.")
    value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    numerator = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    denominator = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    met = models.BooleanField(null=True, help_text="Empty when there was nothing to measure.")
    consecutive_misses = models.PositiveIntegerField(default=0)
    evaluated_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start", "team", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "metric", "frequency", "period_start"], name="one_result_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.get_metric_display()} {self.period_start:%Y-%m}: {self.value}"


class Plan(models.Model):
    """A corrective-action plan (after repeated KPI misses) or a data remediation plan (after the
    hand-off completeness threshold was crossed). Its due date is a clock like any commitment."""

    class Kind(models.TextChoices):
        CORRECTIVE = "corrective", "Corrective-action plan"
        REMEDIATION = "remediation", "Data remediation plan"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="plans")
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="plans")
    escalation = models.OneToOneField(Escalation, on_delete=models.PROTECT, related_name="plan")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="plans"
    )
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField()
    root_cause = models.TextField(blank=True)
    actions = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["team", "status"])]

    def __str__(self) -> str:
        return self.title


class Review(models.Model):
    """A review meeting of the three leads: quarterly review of the agreement, or the monthly alignment review."""

    class Kind(models.TextChoices):
        QUARTERLY = "quarterly", "Quarterly SLA review"
        MONTHLY = "monthly", "Monthly alignment review"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="reviews")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Exclusive.")
    due_on = models.DateField()
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    root_causes = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-due_on"]
        constraints = [models.UniqueConstraint(fields=["kind", "period_start"], name="one_review_per_period")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period_start:%Y-%m}"


class ReviewAction(models.Model):
    """An action agreed in a review: a tracked item with an owner and a due date."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="actions")
    description = models.CharField(max_length=255)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_actions")
    due_on = models.DateField()
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        indexes = [models.Index(fields=["owner", "status", "due_on"])]

    def __str__(self) -> str:
        return self.description
