from django.conf import settings
from django.db import models

from accounts.models import TeamKind
from leads.models import RejectReason


class Handoff(models.Model):
    """One hand-off between teams, with the data that travelled with it and whether it was complete."""

    class Kind(models.TextChoices):
        TO_OUTREACH = "to_outreach", "Marketing → Outreach"
        TO_MEMBER_SUCCESS = "to_member_success", "Outreach → Member Success"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="handoffs")
    from_team = models.CharField(max_length=20, choices=TeamKind.choices)
    to_team = models.CharField(max_length=20, choices=TeamKind.choices)
    from_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="handoffs_received"
    )
    agreement = models.ForeignKey("sla.Agreement", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reject_reason = models.CharField(max_length=20, choices=RejectReason.choices, blank=True)
    note = models.TextField(blank=True)
    # Completeness as it was at hand-off time: the agreement's required fields and which were empty.
    required_fields = models.JSONField(default=list)
    missing_fields = models.JSONField(default=list, blank=True)
    is_complete = models.BooleanField(default=True)
    # What travelled with the lead: score, engagement history, interest; for Member Success the contract.
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["to_team", "status"]),
            models.Index(fields=["from_team", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"


class ContactAttempt(models.Model):
    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        LINKEDIN = "linkedin", "LinkedIn"
        MEETING = "meeting", "Meeting"
        OTHER = "other", "Other"

    class Outcome(models.TextChoices):
        NO_ANSWER = "no_answer", "No answer"
        VOICEMAIL = "voicemail", "Left voicemail"
        SENT = "sent", "Message sent"
        CONNECTED = "connected", "Connected"
        MEETING_BOOKED = "meeting_booked", "Meeting booked"
        NOT_INTERESTED = "not_interested", "Not interested"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="attempts")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=Channel.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["lead", "at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} – {self.get_outcome_display()}"
