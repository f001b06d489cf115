from django import forms

from annotations.models import Project


class RunForm(forms.Form):
    criteria = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: all."
    )
    slice_keys = forms.CharField(
        required=False, help_text="Item meta keys to slice by, comma-separated (e.g. subset, turn)."
    )
    reference_group = forms.ChoiceField(required=False)
    n_boot = forms.IntegerField(
        label="Bootstrap resamples", min_value=0, max_value=20_000, initial=1000
    )
    seed = forms.IntegerField(min_value=0, initial=0)

    def __init__(self, *args, project: Project, groups: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["criteria"].choices = [
            (name, name) for name in project.criteria.values_list("name", flat=True)
        ]
        self.fields["reference_group"].choices = [("", "expert (default)")] + [
            (g, g) for g in groups
        ]

    def config(self) -> dict:
        data = self.cleaned_data
        return {
            "criteria": data["criteria"],
            "slice_keys": [k.strip() for k in data["slice_keys"].split(",") if k.strip()],
            "reference_group": data["reference_group"] or None,
            "n_boot": data["n_boot"],
            "seed": data["seed"],
        }
