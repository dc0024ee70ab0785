from django.contrib.auth.models import AbstractUser
from django.db import models


class TeamKind(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    OUTREACH = "outreach", "Outreach"
    MEMBER_SUCCESS = "member_success", "Member Success"
    REVOPS = "revops", "RevOps"


class Role(models.TextChoices):
    STAFF = "staff", "Staff"
    TEAM_LEAD = "team_lead", "Team lead"
    DEPARTMENT_HEAD = "department_head", "Department head"
    ADMIN = "admin", "Admin"


class Team(models.Model):
    kind = models.CharField(max_length=20, choices=TeamKind.choices, unique=True)
    name = models.CharField(max_length=80)
    webhook_url = models.URLField(
        blank=True, help_text="Optional outgoing webhook (chat tool) that receives this team's notifications."
    )
    # Set by the data-integrity check when hand-off completeness drops below the agreement's threshold.
    handoffs_paused = models.BooleanField(default=False)
    handoffs_paused_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def lead(self) -> "User | None":
        return self.members.filter(role=Role.TEAM_LEAD, is_active=True).order_by("pk").first()

    @property
    def head(self) -> "User | None":
        return self.members.filter(role=Role.DEPARTMENT_HEAD, is_active=True).order_by("pk").first()


class User(AbstractUser):
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STAFF)

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_team_lead(self) -> bool:
        return self.role == Role.TEAM_LEAD

    @property
    def is_department_head(self) -> bool:
        return self.role == Role.DEPARTMENT_HEAD

    @property
    def sees_all_teams(self) -> bool:
        return self.role in {Role.DEPARTMENT_HEAD, Role.ADMIN} or self.is_superuser
