"""Role rules that need nothing but the user: who administers, who handles escalations, who accepts plans.

Kept at the bottom of the stack so the SLA engine can check them; sla_portal.policy builds on them."""

from .models import Role, User


def is_admin(user: User) -> bool:
    return bool(user.is_superuser or getattr(user, "role", None) == Role.ADMIN)


def team_kind(user: User) -> str | None:
    return user.team.kind if getattr(user, "team", None) else None


def is_lead_or_head(user: User) -> bool:
    return is_admin(user) or user.role in {Role.TEAM_LEAD, Role.DEPARTMENT_HEAD}


def can_handle_escalation(user: User, *, team: str, owner_id: int | None) -> bool:
    """The owner, the owning team's lead, and department heads act on an escalation."""
    return (
        is_admin(user)
        or user.role == Role.DEPARTMENT_HEAD
        or user.pk == owner_id
        or (team_kind(user) == team and user.role == Role.TEAM_LEAD)
    )


def can_accept_plan(user: User) -> bool:
    return is_admin(user) or user.role == Role.DEPARTMENT_HEAD
