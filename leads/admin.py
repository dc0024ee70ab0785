from django.contrib import admin

from sla.admin import ReadOnlyAdminMixin

from .models import IdempotencyRecord, ImportJob, Lead, LeadEvent, Touchpoint


class TouchpointInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Touchpoint
    extra = 0


class LeadEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LeadEvent
    extra = 0
    fields = ["at", "kind", "from_state", "to_state", "actor", "reason", "note"]
    readonly_fields = fields


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    """Contact data is editable; state, scores and ownership move only through the services."""

    list_display = ["full_name", "email", "organisation", "state", "team", "owner", "score", "imp_fit", "created_at"]
    list_filter = ["state", "team", "source", "imp_fit"]
    search_fields = ["first_name", "last_name", "email", "organisation"]
    readonly_fields = [
        "state",
        "state_changed_at",
        "team",
        "owner",
        "agreement",
        "imp_fit",
        "fit_score",
        "intent_score",
        "score",
        "touchpoint_count",
        "last_reason",
        "created_at",
        "updated_at",
    ]
    inlines = [TouchpointInline, LeadEventInline]
    list_select_related = ["owner"]

    def has_add_permission(self, request):
        return False  # leads enter through the intake service, which scores and dedupes them


@admin.register(LeadEvent)
class LeadEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["lead", "kind", "from_state", "to_state", "actor", "at", "reason"]
    list_filter = ["kind"]
    list_select_related = ["lead", "actor"]
    date_hierarchy = "at"


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "created_at", "created_by", "status"]
    list_filter = ["status"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "created_at"]
    search_fields = ["key"]
