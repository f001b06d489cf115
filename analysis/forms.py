from django import forms

from analysis.config import RunConfig, RunConfigError
from annotations.models import Project


class RunForm(forms.Form):
    """The run settings as a page asks for them; `RunConfig` validates them."""

    criteria = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: all."
    )
    slice_keys = forms.CharField(
        required=False, help_text="Item meta keys to slice by, comma-separated (e.g. subset, turn)."
    )
    reference_group = forms.ChoiceField(required=False)
    n_boot = forms.IntegerField(label="Bootstrap resamples", initial=RunConfig.n_boot)
    seed = forms.IntegerField(initial=RunConfig.seed)

    def __init__(self, *args, project: Project, groups: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["criteria"].choices = [
            (name, name) for name in project.criteria.values_list("name", flat=True)
        ]
        self.fields["reference_group"].choices = [("", "expert (default)")] + [
            (g, g) for g in groups
        ]

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            data["config"] = RunConfig.from_input(
                data | {"slice_keys": data["slice_keys"].split(",")}
            )
        except RunConfigError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data

    def config(self) -> RunConfig:
        return self.cleaned_data["config"]
