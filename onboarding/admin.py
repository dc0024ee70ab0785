from django.contrib import admin

from sla.admin import ReadOnlyAdminMixin

from .models import EngagementActivity, Membership, MembershipEvent, OnboardingTask


class OnboardingTaskInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OnboardingTask
    extra = 0


class MembershipEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = MembershipEvent
    extra = 0
    fields = ["at", "kind", "from_state", "to_state", "actor", "reason", "note"]
    readonly_fields = fields


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["organisation", "membership_type", "state", "owner", "term_end", "engagement_score"]
    list_filter = ["state", "membership_type"]
    search_fields = ["organisation", "contact_name", "email"]
    readonly_fields = [
        "lead",
        "handoff",
        "state",
        "state_changed_at",
        "signed_at",
        "onboarding_started_at",
        "onboarded_at",
        "engaged_at",
        "churned_at",
        "engagement_score",
        "churn_reason",
        "renewals",
        "owner",
        "agreement",
        "term_start",
        "term_end",
    ]
    inlines = [OnboardingTaskInline, MembershipEventInline]

    def has_add_permission(self, request):
        return False


@admin.register(EngagementActivity)
class EngagementActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["membership", "kind", "points", "at"]
    list_filter = ["kind"]


@admin.register(MembershipEvent)
class MembershipEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["membership", "kind", "from_state", "to_state", "actor", "at", "reason"]
    list_filter = ["kind"]
