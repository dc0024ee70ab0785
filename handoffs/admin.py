from django.contrib import admin

from sla.admin import ReadOnlyAdminMixin

from .models import ContactAttempt, Handoff


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["pk", "kind", "lead", "from_user", "to_user", "status", "is_complete", "created_at"]
    list_filter = ["kind", "status", "is_complete", "reject_reason"]
    list_select_related = ["lead", "from_user", "to_user"]
    date_hierarchy = "created_at"


@admin.register(ContactAttempt)
class ContactAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["lead", "by", "at", "channel", "outcome"]
    list_filter = ["channel", "outcome"]
    list_select_related = ["lead", "by"]
