"""Admins edit drafts of the agreement here; active and superseded versions are read-only history, and
activation goes through the service so the one-active-version rule and the amendment log hold."""

from django.contrib import admin, messages
from django.db import transaction

from sla_portal.errors import DomainError

from . import services
from .models import (
    Agreement,
    Amendment,
    BusinessCalendar,
    Clock,
    CommitmentTerm,
    Delivery,
    Escalation,
    Holiday,
    KpiResult,
    KpiTarget,
    Notification,
    Plan,
    Review,
    ReviewAction,
    SignOff,
    WorkingHours,
)


class ReadOnlyAdminMixin:
    """Audit and machine-written rows: visible to admins, changed only by services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "always_open", "holiday_country"]
    inlines = [WorkingHoursInline, HolidayInline]


class FrozenWhenNotDraftInline:
    def has_add_permission(self, request, obj=None):
        return obj is None or not obj.is_frozen

    def has_change_permission(self, request, obj=None):
        return obj is None or not obj.is_frozen

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.is_frozen


class CommitmentTermInline(FrozenWhenNotDraftInline, admin.TabularInline):
    model = CommitmentTerm
    extra = 0


class KpiTargetInline(FrozenWhenNotDraftInline, admin.TabularInline):
    model = KpiTarget
    extra = 0


class SignOffInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SignOff
    extra = 0
    fields = ["team", "signed_by", "signed_on"]
    readonly_fields = fields


class AmendmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Amendment
    fk_name = "agreement"
    extra = 0
    fields = ["at", "changed_by", "summary", "changes"]
    readonly_fields = fields


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    list_display = ["version", "status", "effective_date", "review_date", "activated_at"]
    list_filter = ["status"]
    readonly_fields = ["version", "status", "based_on", "effective_date", "activated_at", "activated_by"]
    inlines = [CommitmentTermInline, KpiTargetInline, SignOffInline, AmendmentInline]
    actions = ["draft_amendment", "activate"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "version",
                    "status",
                    "based_on",
                    "title",
                    "objective",
                    "parties",
                    "effective_date",
                    "review_date",
                    "activated_at",
                    "activated_by",
                ]
            },
        ),
        (
            "1. Definitions",
            {
                "fields": [
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
                ]
            },
        ),
        ("2. Commitments", {"fields": ["mqls_per_month", "required_handoff_fields"]}),
        (
            "4. Escalation",
            {
                "fields": [
                    "consecutive_misses_to_escalate",
                    "corrective_plan_business_days",
                    "max_incomplete_handoff_pct",
                    "remediation_business_days",
                    "review_reminder_days",
                    "escalation_calendar",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_frozen:
            return [f for fs in self.fieldsets for f in fs[1]["fields"]]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.is_frozen

    def save_model(self, request, obj, form, change):
        if obj.pk is None:
            obj.version = services.next_version()
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Draft an amendment (new version copied from the selected one)")
    def draft_amendment(self, request, queryset):
        for agreement in queryset:
            draft = services.agreement_draft(by=request.user, based_on=agreement)
            self.message_user(request, f"Created draft v{draft.version} from v{agreement.version}.")

    @admin.action(description="Activate the selected draft (supersedes the active version)")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Activate exactly one draft at a time.", level=messages.ERROR)
            return
        try:
            with transaction.atomic():
                agreement = services.agreement_activate(agreement=queryset.get(), by=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return
        self.message_user(request, f"v{agreement.version} is now active; all parties were notified.")


@admin.register(Amendment)
class AmendmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["agreement", "at", "changed_by", "summary"]


@admin.register(SignOff)
class SignOffAdmin(admin.ModelAdmin):
    list_display = ["agreement", "team", "signed_by", "signed_on"]
    list_filter = ["team"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.agreement_sign(agreement=obj.agreement, team=obj.team, by=obj.signed_by, on=obj.signed_on)

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.agreement.status == Agreement.Status.DRAFT


@admin.register(Clock)
class ClockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["commitment", "subject_label", "team", "owner", "state", "started_at", "warn_at", "due_at"]
    list_filter = ["state", "commitment", "team"]
    search_fields = ["subject_label"]
    date_hierarchy = "due_at"


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["title", "kind", "team", "owner", "status", "created_at"]
    list_filter = ["kind", "team", "status"]
    search_fields = ["title", "key"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["recipient", "title", "created_at", "read_at"]
    list_filter = ["read_at"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["channel", "target", "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["channel", "status"]


@admin.register(KpiResult)
class KpiResultAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["team", "metric", "frequency", "period_start", "value", "met", "consecutive_misses"]
    list_filter = ["team", "metric", "frequency", "met"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "team", "owner", "status", "due_at"]
    list_filter = ["kind", "status", "team"]
    readonly_fields = [
        "kind",
        "team",
        "agreement",
        "escalation",
        "status",
        "opened_at",
        "due_at",
        "submitted_at",
        "submitted_by",
        "accepted_at",
        "accepted_by",
    ]


class ReviewActionInline(admin.TabularInline):
    model = ReviewAction
    extra = 0


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["kind", "period_start", "due_on", "status"]
    list_filter = ["kind", "status"]
    inlines = [ReviewActionInline]
