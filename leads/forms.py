"""Forms for the Marketing screens. They shape and label input; the services decide what is allowed."""

from django import forms
from django.forms.models import fields_for_model

from .models import DisqualifyReason, Lead, RecycleReason, TouchpointKind
from .services import LEAD_FIELDS


def reason_field(choices, *, label: str, required_message: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=[("", "Choose a reason…"), *choices],
        error_messages={"required": required_message, "invalid_choice": required_message},
    )


class LeadForm(forms.Form):
    """A prospect's contact and Ideal Member Profile data; the fields come from the model, labels included."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(fields_for_model(Lead, fields=LEAD_FIELDS))
        self.fields["email"].error_messages["required"] = "An e-mail address is required."
        self.fields["first_name"].error_messages["required"] = "A first name is required."
        self.fields["interest"].widget.attrs["rows"] = 3
        self.fields["employees"].label = "Organisation size (employees)"
        for name in ("email", "phone"):
            self.fields[name].widget.attrs["autocomplete"] = "off"

    def changed_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in LEAD_FIELDS}


class TouchpointForm(forms.Form):
    kind = forms.ChoiceField(label="What happened", choices=TouchpointKind.choices)
    campaign = forms.CharField(label="Campaign", max_length=120, required=False)
    detail = forms.CharField(label="Detail", max_length=255, required=False)
    points = forms.IntegerField(
        label="Points", min_value=0, required=False, help_text="Leave empty for the usual points of this kind."
    )


class RecycleForm(forms.Form):
    reason = reason_field(
        RecycleReason.choices, label="Why recycle", required_message="Choose why the lead goes back to nurture."
    )
    note = forms.CharField(label="Note for Marketing", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DisqualifyForm(forms.Form):
    reason = reason_field(
        DisqualifyReason.choices, label="Why disqualify", required_message="Choose why the lead is disqualified."
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("reason") == DisqualifyReason.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", "Say why, when the reason is 'Other'.")
        return data


class IdsField(forms.Field):
    """The ticked rows of a list (`ids=3&ids=7`)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"required": "Select at least one row.", "invalid": "The selection is not valid."}

    def to_python(self, value):
        if not value:
            return []
        try:
            return sorted({int(v) for v in value})
        except (TypeError, ValueError) as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc


class AssignForm(forms.Form):
    """Reassign one or many rows to a person of the team that works them now (team leads only)."""

    owner = forms.ModelChoiceField(
        queryset=None,
        label="Assign to",
        required=False,
        empty_label="Nobody (unassigned)",
    )
    ids = IdsField(label="Selected rows")

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
