"""Forms for Member Success's screens and Outreach's conversion of an SQL into a member."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from leads.forms import reason_field

from .models import ChurnReason, EngagementKind, FlagKind, MembershipType

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ConvertForm(forms.Form):
    """The Outreach → Member Success hand-off: the contract and what Member Success must know."""

    membership_type = forms.ChoiceField(
        label="Membership type",
        choices=[("", "Choose a type…"), *MembershipType.choices],
        error_messages={"required": "Choose a membership type."},
    )
    contract_value = forms.DecimalField(
        label="Contract value (£ per term)",
        min_value=0,
        max_digits=10,
        decimal_places=2,
        error_messages={"required": "Enter the contract value.", "invalid": "Enter an amount, e.g. 1200 or 1200.50."},
    )
    term_start = forms.DateField(label="Term starts", widget=DATE)
    term_end = forms.DateField(label="Term ends", widget=DATE)
    owner = forms.ModelChoiceField(
        queryset=None, required=False, label="Member Success owner", empty_label="Member Success team queue"
    )
    notes = forms.CharField(
        label="Notes for Member Success",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Expectations, who to talk to, what was promised: the context onboarding needs.",
    )

    def __init__(self, *args, owners, **kwargs):
        kwargs.setdefault("initial", {})
        today = timezone.localdate()
        kwargs["initial"].setdefault("term_start", today)
        kwargs["initial"].setdefault("term_end", today.replace(year=today.year + 1) - timedelta(days=1))
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners

    def clean(self):
        data = super().clean()
        start, end = data.get("term_start"), data.get("term_end")
        if start and end and end <= start:
            self.add_error("term_end", "The term must end after it starts.")
        return data


class EngagementForm(forms.Form):
    kind = forms.ChoiceField(label="Activity", choices=EngagementKind.choices)
    detail = forms.CharField(label="Detail", max_length=255, required=False)
    points = forms.IntegerField(
        label="Points", min_value=0, required=False, help_text="Leave empty for the usual points of this activity."
    )


class FlagForm(forms.Form):
    kind = forms.ChoiceField(label="Flag to", choices=FlagKind.choices, widget=forms.RadioSelect)
    note = forms.CharField(label="Note", required=False, max_length=2000)


class FlagResolveForm(forms.Form):
    note = forms.CharField(label="What was done", required=False, max_length=2000)


class ChurnForm(forms.Form):
    reason = reason_field(ChurnReason.choices, label="Churn reason", required_message="Choose why the member left.")
    note = forms.CharField(
        label="Note for Marketing and Outreach",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Churn reasons feed back to the teams that brought the member in.",
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") == ChurnReason.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", "Say why, when the reason is 'Other'.")
        return data


class RenewForm(forms.Form):
    new_term_end = forms.DateField(label="New term ends", widget=DATE)
    contract_value = forms.DecimalField(
        label="New contract value (£)",
        min_value=0,
        max_digits=10,
        decimal_places=2,
        required=False,
        help_text="Leave empty to keep the current value.",
    )
