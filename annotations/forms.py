from django import forms
from django.urls import reverse_lazy
from django.utils.text import format_lazy

from annotations.importers import FORMATS, labelstudio
from annotations.models import ExportJob


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=ExportJob.Format.choices, initial=ExportJob.Format.NATIVE)
    pairs_group = forms.CharField(
        required=False,
        max_length=64,
        initial="expert",
        help_text="Pairs only: the human group whose majority decides each pair.",
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text=format_lazy(
            "Native JSON Lines, a Label Studio or Argilla export, or a data set's own files: "
            'see <a href="{}">the import format</a>, with examples.',
            reverse_lazy("annotations:import-format"),
        )
    )
    format = forms.ChoiceField(choices=[(name, name) for name in sorted(FORMATS)], initial="native")
    # Label Studio only (README "Label Studio"): checked by labelstudio.options_clean.
    config = forms.FileField(
        required=False, label="Labeling config", help_text="Label Studio: the project's XML."
    )
    human_group = forms.CharField(
        required=False, max_length=64, help_text="Label Studio: the annotators' group."
    )
    mapping = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Label Studio: FIELD=DATA_KEY pairs, comma-separated (e.g. prompt=question).",
    )
    item_id_field = forms.CharField(
        required=False, max_length=200, help_text="Label Studio: the data key of the item id."
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        given = {
            name: cleaned[name]
            for name in ("config", "human_group", "mapping", "item_id_field")
            if cleaned.get(name)
        }
        cleaned["options"] = {}
        if not given:
            return cleaned
        if cleaned.get("format") != "labelstudio":
            raise forms.ValidationError("Config, group, mapping and item id are for labelstudio.")
        if "config" in given:
            given["config"] = given["config"].read(labelstudio.CONFIG_MAX_BYTES + 1)
        if "mapping" in given:
            given["mapping"] = [x for x in given["mapping"].replace("\n", ",").split(",") if x]
        try:
            cleaned["options"] = labelstudio.options_clean(**given)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        return cleaned
