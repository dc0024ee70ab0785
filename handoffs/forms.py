"""Forms for hand-offs and Outreach's work: hand off, reject, log a contact attempt."""

from django import forms
from django.forms.models import fields_for_model

from leads.forms import reason_field
from leads.models import Lead, RejectReason

from .models import ContactAttempt


class HandoffForm(forms.Form):
    """The hand-off: who in Outreach gets it, a note, and the required fields still empty on the lead.

    Missing fields appear as inputs so Marketing can fill them right here; handing off with gaps stays
    possible (it is recorded as incomplete and counts against the completeness KPI) but must be confirmed."""

    to_user = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Hand to",
        empty_label="Outreach team queue (first free rep)",
    )
    note = forms.CharField(
        label="Note for Outreach",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Context a rep needs before the first call: what they asked, when to call.",
    )
    confirm_incomplete = forms.BooleanField(
        required=False, label="Hand off anyway, with the missing data recorded as incomplete"
    )

    def __init__(self, *args, outreach, missing: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_user"].queryset = outreach
        self.missing = list(missing)
        lead_fields = fields_for_model(Lead, fields=self.missing)
        for name in self.missing:
            field = lead_fields[name]
            field.required = False  # may stay empty if the hand-off is confirmed as incomplete
            field.agreement_required = True
            if isinstance(field.widget, forms.Textarea):
                field.widget.attrs["rows"] = 2
            self.fields[name] = field
        if not self.missing:
            del self.fields["confirm_incomplete"]

    @property
    def missing_fields(self):
        return [self[name] for name in self.missing]

    def lead_updates(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.missing if self.cleaned_data.get(name) not in (None, "")}

    def clean(self):
        data = super().clean()
        still_missing = [name for name in self.missing if data.get(name) in (None, "")]
        if still_missing and not data.get("confirm_incomplete"):
            self.add_error(
                "confirm_incomplete",
                "Fill in the missing fields above, or tick this box to hand off with incomplete data.",
            )
        return data


class RejectForm(forms.Form):
    reason = reason_field(
        RejectReason.choices, label="Reject reason", required_message="Choose why the lead goes back to Marketing."
    )
    note = forms.CharField(
        label="Note for Marketing", required=False, widget=forms.Textarea(attrs={"rows": 2, "maxlength": 2000})
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") == RejectReason.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", "Say why, when the reason is 'Other'.")
        return data


class AttemptForm(forms.Form):
    channel = forms.ChoiceField(
        label="Channel", choices=ContactAttempt.Channel.choices, initial=ContactAttempt.Channel.PHONE
    )
    outcome = forms.ChoiceField(
        label="Outcome", choices=ContactAttempt.Outcome.choices, initial=ContactAttempt.Outcome.NO_ANSWER
    )
    note = forms.CharField(label="Note", required=False, max_length=2000)
