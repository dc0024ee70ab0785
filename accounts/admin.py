from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import Team, User


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "handoffs_paused", "webhook_url"]
    list_filter = ["handoffs_paused"]
    readonly_fields = ["handoffs_paused", "handoffs_paused_reason"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "get_full_name", "email", "team", "role", "is_active"]
    list_filter = ["team", "role", "is_active", "is_staff"]
    fieldsets = [*BaseUserAdmin.fieldsets, ("SLA Portal", {"fields": ["team", "role"]})]
    add_fieldsets = [*BaseUserAdmin.add_fieldsets, ("SLA Portal", {"fields": ["team", "role", "email"]})]
