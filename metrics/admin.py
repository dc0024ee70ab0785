"""Admins edit shared goals (weights) and campaign costs here; rollups are derived data, shown read-only."""

from django.contrib import admin
from django.db.models import Sum

from .models import CampaignCost, DailyRollup, RollupState, SharedGoal


@admin.register(SharedGoal)
class SharedGoalAdmin(admin.ModelAdmin):
    list_display = ["team", "metric", "weight", "comparator", "target", "frequency", "agreement", "team_weight_total"]
    list_editable = ["weight", "target"]
    list_filter = ["agreement", "team", "frequency"]
    list_select_related = ["team", "agreement"]
    search_fields = ["description"]

    @admin.display(description="Team's weights")
    def team_weight_total(self, goal: SharedGoal) -> str:
        total = (
            SharedGoal.objects.filter(agreement_id=goal.agreement_id, team_id=goal.team_id).aggregate(w=Sum("weight"))[
                "w"
            ]
            or 0
        )
        return f"{total} %" + ("" if total == 100 else " (should be 100 %)")


@admin.register(CampaignCost)
class CampaignCostAdmin(admin.ModelAdmin):
    list_display = ["campaign", "source", "month", "amount", "note"]
    list_filter = ["source", "month"]
    search_fields = ["campaign", "note"]
    date_hierarchy = "month"


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DailyRollup)
class DailyRollupAdmin(ReadOnly):
    list_display = ["day", "measure", "source", "campaign", "membership_type", "reason", "count"]
    list_filter = ["measure", "source", "membership_type"]
    date_hierarchy = "day"


@admin.register(RollupState)
class RollupStateAdmin(ReadOnly):
    list_display = ["refreshed_at", "fresh_from", "lead_event_id", "membership_event_id"]
