"""Who may see and do what. One place, used by the screens and the API alike, so a rule cannot drift
between them. Services enforce the lifecycle; this module enforces the people.

- Staff act on their own team's current work.
- Team leads also reassign their team's work.
- Department heads see everything and own escalations and plans (they accept plans).
- Admins (superusers or the admin role) may do everything; they edit the agreement in Django admin.
"""

from django.db.models import Exists, OuterRef, Q

from accounts.models import Role, TeamKind, User
from accounts.roles import can_accept_plan, can_handle_escalation, is_admin, is_lead_or_head, team_kind
from handoffs.models import Handoff
from leads.models import Lead
from onboarding.models import Membership


def sees_everything(user: User) -> bool:
    return is_admin(user) or user.role == Role.DEPARTMENT_HEAD


def can_act_for_team(user: User, kind: str) -> bool:
    """Work that currently sits with team `kind`: its members act on it."""
    return is_admin(user) or (user.is_active and team_kind(user) == kind)


def can_reassign_for_team(user: User, kind: str) -> bool:
    return is_admin(user) or (team_kind(user) == kind and user.role in {Role.TEAM_LEAD, Role.DEPARTMENT_HEAD})


def leads_visible_q(user: User) -> Q:
    """Marketing sees every lead it brought in; Outreach the ones handed to it; Member Success the converted."""
    if sees_everything(user):
        return Q()
    kind = team_kind(user)
    if kind in {TeamKind.MARKETING, TeamKind.REVOPS}:
        return Q()
    if kind == TeamKind.OUTREACH:
        return Q(Exists(Handoff.objects.filter(lead=OuterRef("pk"), kind=Handoff.Kind.TO_OUTREACH)))
    if kind == TeamKind.MEMBER_SUCCESS:
        return Q(state="converted")
    return Q(pk__in=[])


def leads_visible(user: User):
    return Lead.objects.filter(leads_visible_q(user))


def can_view_lead(user: User, lead: Lead) -> bool:
    return leads_visible(user).filter(pk=lead.pk).exists()


def can_act_on_lead(user: User, lead: Lead) -> bool:
    return can_act_for_team(user, lead.team)


def memberships_visible(user: User):
    """Members are everybody's outcome: every team sees them (Outreach upsells, Marketing learns from churn)."""
    return Membership.objects.all() if user.is_authenticated else Membership.objects.none()


def can_act_on_membership(user: User, membership: Membership) -> bool:
    return can_act_for_team(user, TeamKind.MEMBER_SUCCESS)


__all__ = [
    "can_accept_plan",
    "can_act_for_team",
    "can_act_on_lead",
    "can_act_on_membership",
    "can_handle_escalation",
    "can_reassign_for_team",
    "can_view_lead",
    "is_admin",
    "is_lead_or_head",
    "leads_visible",
    "leads_visible_q",
    "memberships_visible",
    "sees_everything",
    "team_kind",
]
