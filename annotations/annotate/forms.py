"""Forms of the annotator interface and the lead page."""

import json

from django import forms
from django.http import QueryDict

from annotations.annotate.rules import MAX_RATIONALE, LabelInput
from annotations.annotate.sheet import ItemSheet
from annotations.errors import DomainError
from annotations.models import Criterion


class SubmitForm(forms.Form):
    """The scalar fields of a submission; the labels are read by `labels_from_post`.

    `base_submission_id` is the version of the stored answers the page was rendered with
    (blank: none stored), `overwrite` the stored version the annotator chose to replace after a
    conflict, `criteria` the ids of the criteria the page asked (see `rules.Submission`).
    """

    submission_id = forms.UUIDField()
    rationale = forms.CharField(required=False, max_length=MAX_RATIONALE, strip=True)
    time_spent_ms = forms.IntegerField(required=False, min_value=0)
    base_submission_id = forms.UUIDField(required=False)
    overwrite = forms.UUIDField(required=False)
    criteria = forms.RegexField(regex=r"^\d{1,18}(,\d{1,18}){0,999}$", required=False)

    def submission_fields(self) -> dict:
        """The optional fields as `Submission` arguments; a form without the base field (not
        rendered by this app's page) does not say what it was made against."""
        data = self.cleaned_data
        fields: dict = {"overwrite": data["overwrite"]}
        if "base_submission_id" in self.data:
            fields["base"] = data["base_submission_id"]
        if data["criteria"]:
            fields["criteria"] = frozenset(int(x) for x in data["criteria"].split(","))
        return fields


def labels_from_post(*, data: QueryDict, sheet: ItemSheet) -> list[LabelInput]:
    """The answers in a posted item form, as service inputs (unanswered groups are left out)."""
    labels = []
    for group in sheet.groups:
        raw = data.get(group.name, "").strip()
        if not raw:
            continue
        criterion = group.criterion
        if criterion.scale == Criterion.Scale.INTERVAL:
            try:
                value = json.loads(raw)
            except ValueError:
                raise DomainError(f"{group.legend}: {raw[:20]!r} is not a number.") from None
        elif criterion.scale == Criterion.Scale.PAIRWISE:
            value = raw
        else:
            if not raw.isdigit() or int(raw) >= len(criterion.labels):
                raise DomainError(f"{group.legend}: pick one of the buttons.")
            value = criterion.labels[int(raw)]
        labels.append(LabelInput(criterion.name, group.step, value))
    return labels


class ReasonForm(forms.Form):
    reason = forms.CharField(required=False, max_length=MAX_RATIONALE, strip=True)


class SettingsForm(forms.Form):
    overlap = forms.IntegerField(min_value=1, max_value=100, label="Annotators per item (k)")
    error_ends_solution = forms.BooleanField(
        required=False, label="A step marked as an error ends the solution"
    )
    annotator_group = forms.CharField(
        max_length=64,
        required=False,
        label="Group of new annotators",
        help_text="Their judgements go into this group (blank: unchanged); move annotators "
        "already added on the QC page.",
    )

    def clean_annotator_group(self) -> str | None:
        return self.cleaned_data["annotator_group"] or None


class AnnotatorForm(forms.Form):
    username = forms.CharField(max_length=150)
    rater_group = forms.CharField(
        max_length=64,
        required=False,
        label="Rater group",
        help_text="Blank: the project's group of new annotators.",
    )


class GoldForm(forms.Form):
    external_id = forms.CharField(max_length=200, label="Item id")
    expected = forms.JSONField(
        label="Expected labels",
        initial=dict,
        help_text="The lead page puts an example built from the project's criteria here.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
