from django import forms

from analysis import services
from analysis.config import RunConfig, RunConfigError
from annotations.models import Project

DEFAULT_SLICE_VALUES = (2, 12)  # keys with this many distinct values are sliced by default


def default_slice_keys(meta_keys: dict[str, int]) -> list[str]:
    """The meta keys a report slices by unless told otherwise: those with a few values (a
    category, a turn, a subset), not ids nor one value for every item."""
    low, high = DEFAULT_SLICE_VALUES
    return [key for key, n in meta_keys.items() if low <= n <= high]


class RunForm(forms.Form):
    """The run settings as a page asks for them; `RunConfig` validates them."""

    criteria = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, help_text="None ticked: all."
    )
    slice_keys = forms.CharField(
        required=False,
        max_length=1000,
        help_text="Item meta keys to slice by, comma-separated (e.g. subset, turn).",
        widget=forms.TextInput(attrs={"list": "slice-key-options", "autocomplete": "off"}),
    )
    reference_group = forms.ChoiceField(required=False)
    n_boot = forms.IntegerField(label="Bootstrap resamples", initial=RunConfig.n_boot)
    seed = forms.IntegerField(initial=RunConfig.seed)
    epsilon = forms.FloatField(
        label="Alt-test epsilon",
        required=False,
        initial=RunConfig.epsilon,
        min_value=0,
        max_value=1,
        help_text=(
            "How much a judge may trail a human annotator and still replace one (Calderon et "
            "al. 2025: 0.2 for experts, 0.15 skilled annotators, 0.1 crowd workers)."
        ),
    )
    group_epsilons = forms.CharField(
        label="Epsilon per human group",
        required=False,
        max_length=500,
        help_text="Optional, e.g. crowd=0.1, annotators=0.15",
    )
    chunk_items = forms.IntegerField(
        label="Items per chunk",
        required=False,
        min_value=0,
        initial=0,
        help_text=(
            "0: one worker computes everything. N > 0: the items are cut into chunks of N, "
            "computed by all the workers at once and merged; for big projects (each worker "
            "holds one chunk). A chunked run leaves out some statistics: its page lists them."
        ),
    )

    def __init__(
        self,
        *args,
        project: Project,
        groups: list[str],
        meta_keys: dict[str, int] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        self.meta_keys = meta_keys or {}
        self.fields["criteria"].choices = [
            (name, name) for name in project.criteria.values_list("name", flat=True)
        ]
        default = "expert" if "expert" in groups or not groups else "the largest human group"
        self.fields["reference_group"].choices = [("", f"{default} (default)")] + [
            (g, g) for g in groups if g != default
        ]
        self.fields["slice_keys"].initial = ", ".join(default_slice_keys(self.meta_keys))

    def clean_slice_keys(self) -> str:
        keys = [key.strip() for key in self.cleaned_data["slice_keys"].split(",") if key.strip()]
        try:
            services.slice_keys_check(project=self.project, keys=keys)
        except RunConfigError as exc:
            known = ", ".join(self.meta_keys) or "none"
            raise forms.ValidationError(f"{exc.message} Keys to slice by: {known}.") from None
        return ", ".join(dict.fromkeys(keys))

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        try:
            data["config"] = RunConfig.from_input(
                data
                | {
                    "slice_keys": data["slice_keys"].split(","),
                    "group_epsilons": [x for x in data["group_epsilons"].split(",") if x.strip()],
                    "chunk_items": data.get("chunk_items") or 0,
                }
            )
        except RunConfigError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data

    def config(self) -> RunConfig:
        return self.cleaned_data["config"]
