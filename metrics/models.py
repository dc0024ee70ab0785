"""What the dashboards need beyond the operational tables: shared goals with weights, campaign costs, and the daily
rollups that keep long periods cheap."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Sum

from leads.models import LeadSource
from sla.models import Comparator, KpiMetric, ReviewFrequency


class GoalMetric(models.TextChoices):
    """What a shared goal can be tied to: the KPI table's metrics and the article's shared outcomes."""

    MQL_VOLUME = KpiMetric.MQL_VOLUME.value, KpiMetric.MQL_VOLUME.label
    MQL_ACCEPTANCE_RATE = KpiMetric.MQL_ACCEPTANCE_RATE.value, KpiMetric.MQL_ACCEPTANCE_RATE.label
    FIRST_RESPONSE_HOURS = KpiMetric.FIRST_RESPONSE_HOURS.value, KpiMetric.FIRST_RESPONSE_HOURS.label
    FIRST_RESPONSE_WITHIN_TARGET = (
        KpiMetric.FIRST_RESPONSE_WITHIN_TARGET.value,
        KpiMetric.FIRST_RESPONSE_WITHIN_TARGET.label,
    )
    SQL_TO_MEMBER_RATE = KpiMetric.SQL_TO_MEMBER_RATE.value, KpiMetric.SQL_TO_MEMBER_RATE.label
    ONBOARDED_WITHIN_TARGET = KpiMetric.ONBOARDED_WITHIN_TARGET.value, KpiMetric.ONBOARDED_WITHIN_TARGET.label
    RENEWAL_RATE = KpiMetric.RENEWAL_RATE.value, KpiMetric.RENEWAL_RATE.label
    HANDOFF_COMPLETENESS = KpiMetric.HANDOFF_COMPLETENESS.value, KpiMetric.HANDOFF_COMPLETENESS.label
    MEMBER_SIGNUPS = "member_signups", "New members signed"
    HANDOFF_TO_MEMBER = "handoff_to_member", "% of hand-offs that became active members"
    ENGAGED_WITHIN_WINDOW = "engaged_within_window", "% of new members engaged within the window (90 days)"
    UPSELL_RATE = "upsell_rate", "% of renewals at a higher contract value"
    NPS = "nps", "Net Promoter Score after onboarding"


class SharedGoal(models.Model):
    """A goal the agreement ties to a team's incentive, with its weight in that team's scorecard
    (e.g. 20 % of Marketing's score on hand-off acceptance, another share on 12-month renewal)."""

    agreement = models.ForeignKey("sla.Agreement", on_delete=models.CASCADE, related_name="shared_goals")
    team = models.ForeignKey("accounts.Team", on_delete=models.PROTECT, related_name="shared_goals")
    metric = models.CharField(max_length=32, choices=GoalMetric.choices)
    comparator = models.CharField(max_length=3, choices=Comparator.choices, default=Comparator.AT_LEAST)
    target = models.DecimalField(max_digits=10, decimal_places=2)
    weight = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Share of the team's score, in %. A team's weights should add up to 100.",
    )
    frequency = models.CharField(max_length=10, choices=ReviewFrequency.choices, default=ReviewFrequency.MONTHLY)
    description = models.CharField(max_length=255, blank=True, help_text="Why this goal, in the team's words.")

    class Meta:
        ordering = ["agreement", "team", "-weight", "metric"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "team", "metric"], name="one_goal_per_team_metric"),
        ]

    def __str__(self) -> str:
        return f"{self.team}: {self.get_metric_display()} ({self.weight} %)"

    def clean(self) -> None:
        if not (self.agreement_id and self.team_id and self.weight):
            return
        others = (
            SharedGoal.objects.filter(agreement_id=self.agreement_id, team_id=self.team_id)
            .exclude(pk=self.pk)
            .aggregate(w=Sum("weight"))["w"]
            or 0
        )
        if others + self.weight > 100:
            raise ValidationError(
                {"weight": f"The team's weights would add up to {others + self.weight} %; at most 100 % is shared."}
            )

    def attainment(self, value: Decimal | None) -> Decimal | None:
        """How much of the goal the value reaches, 0–100 %, capped so an overshoot cannot hide another miss."""
        if value is None:
            return None
        value, target = Decimal(value), self.target
        if self.comparator == Comparator.AT_LEAST:
            share = Decimal(1) if target <= 0 else value / target
        else:
            share = Decimal(1) if value <= target else (target / value if value > 0 else Decimal(1))
        return (max(Decimal(0), min(share, Decimal(1))) * 100).quantize(Decimal("0.1"))


class CampaignCost(models.Model):
    """Money spent on a campaign in a month, entered by Marketing: the basis of cost per MQL."""

    campaign = models.CharField(max_length=120, help_text="Exactly as on the leads (their 'campaign' field).")
    source = models.CharField(max_length=16, choices=LeadSource.choices, blank=True)
    month = models.DateField(help_text="First day of the month the money was spent in.")
    amount = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(0)])
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-month", "campaign"]
        constraints = [models.UniqueConstraint(fields=["campaign", "month"], name="one_cost_per_campaign_month")]

    def __str__(self) -> str:
        return f"{self.campaign} {self.month:%Y-%m}: {self.amount}"

    def clean(self) -> None:
        if self.month and self.month.day != 1:
            raise ValidationError({"month": "Use the first day of the month."})


class DailyRollup(models.Model):
    """One measure for one day and segment: a count, a sum, and a minute histogram for medians and percentiles.

    Built from the immutable event tables (and the stopped first-response clocks), so a finished day never changes
    unless a late event lands on it; `metrics.rollups.rollups_refresh` rebuilds exactly the days new events touched.
    A dashboard over a year reads ~365 × segments rows instead of every lead."""

    day = models.DateField()
    measure = models.CharField(max_length=32)
    source = models.CharField(max_length=16, blank=True)
    campaign = models.CharField(max_length=120, blank=True)
    membership_type = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=24, blank=True)
    count = models.PositiveIntegerField(default=0)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    # {"minutes": count} of the durations measured (time in the previous stage, time to first response).
    minutes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["day", "measure"]
        indexes = [models.Index(fields=["day", "measure"])]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "measure", "source", "campaign", "membership_type", "reason"], name="one_rollup_row"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.measure} {self.source}/{self.campaign}: {self.count}"


class RollupState(models.Model):
    """Where the incremental refresh got to: the last event ids folded in, and the first day that may be stale."""

    lead_event_id = models.BigIntegerField(default=0)
    membership_event_id = models.BigIntegerField(default=0)
    fresh_from = models.DateField(null=True, blank=True, help_text="Days from here on are read live.")
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Rollups refreshed {self.refreshed_at:%Y-%m-%d %H:%M}" if self.refreshed_at else "Rollups never built"
