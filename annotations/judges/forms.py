"""The lead's judge form: a configuration, a preview, a run."""

from django import forms
from django.conf import settings

from annotations.judges.models import JudgeConfig
from annotations.judges.services import JudgeSpec, Selection
from annotations.judges.templates import built_ins
from annotations.models import Criterion, Project


class JudgeForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="Default: the model.")
    provider = forms.ChoiceField(choices=JudgeConfig.Provider.choices)
    model = forms.CharField(max_length=200, required=False, help_text="e.g. gpt-4o, llama3.1")
    base_url = forms.CharField(max_length=500, required=False, label="Base URL")
    template = forms.ChoiceField()
    system_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="Empty: built-in."
    )
    template_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}), required=False, help_text="Empty: built-in."
    )
    temperature = forms.FloatField(required=False, min_value=0, max_value=2, initial=0)
    max_tokens = forms.IntegerField(required=False, min_value=1, max_value=200_000)
    samples = forms.IntegerField(min_value=1, max_value=20, initial=1)
    both_orders = forms.BooleanField(required=False, initial=True, label="Pairs: both orders")
    structured = forms.BooleanField(
        required=False,
        label="Structured output (JSON schema / tool call)",
        help_text="OpenAI-compatible (a JSON schema) or Anthropic (a tool call); "
        "off: the papers' text formats.",
    )
    concurrency = forms.IntegerField(min_value=1, max_value=64, initial=4)
    group = forms.CharField(max_length=64, help_text="The judge's rater group in reports.")
    criterion = forms.ChoiceField()
    meta_key = forms.CharField(max_length=64, required=False, label="Slice: meta key")
    meta_value = forms.CharField(max_length=200, required=False, label="= value")
    gold = forms.BooleanField(required=False, label="Gold items only")
    ids = forms.CharField(required=False, label="Item ids", help_text="Space-separated.")
    limit = forms.IntegerField(required=False, min_value=1)
    cost_cap = forms.FloatField(required=False, min_value=0.0001, label="Cost cap ($)")

    def __init__(self, *args, project: Project, staff: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        self.fields["template"].choices = [
            (name, f"{name}: {t.description}") for name, t in built_ins().items()
        ]
        self.fields["criterion"].choices = [
            (c.name, f"{c.name} ({c.scale}, per {c.target})") for c in project.criteria.all()
        ]
        if not staff:
            # Leads pick from the operator's list; nothing they type reaches the network.
            allowed = settings.JUDGE_ALLOWED_BASE_URLS
            self.fields["base_url"] = forms.ChoiceField(
                choices=[("", "— none (answer checker) —")] + [(u, u) for u in allowed],
                required=False,
                label="Base URL",
                help_text="From JUDGE_ALLOWED_BASE_URLS.",
            )

    def spec(self) -> JudgeSpec:
        data = self.cleaned_data
        parameters = {"samples": data["samples"], "both_orders": data["both_orders"]}
        if data["structured"]:
            parameters["structured"] = True
        for key in ("temperature", "max_tokens"):
            if data[key] is not None:
                parameters[key] = data[key]
        if parameters["samples"] == 1:
            del parameters["samples"]
        return JudgeSpec(
            name=data["name"],
            provider=data["provider"],
            model=data["model"],
            template=data["template"],
            group=data["group"],
            base_url=data["base_url"],
            system_text=data["system_text"] or None,
            template_text=data["template_text"] or None,
            parameters=parameters,
            concurrency=data["concurrency"],
        )

    def selection(self) -> Selection:
        data = self.cleaned_data
        return Selection(
            meta_key=data["meta_key"].strip(),
            meta_value=data["meta_value"].strip(),
            gold=data["gold"],
            ids=tuple(data["ids"].split()),
            limit=data["limit"],
        )

    def criterion_object(self) -> Criterion:
        return self.project.criteria.get(name=self.cleaned_data["criterion"])


class RaterTokenForm(forms.Form):
    """An external judge: a model rater and its API key."""

    name = forms.CharField(max_length=200, label="Rater name", help_text="New or a model rater.")
    group = forms.CharField(max_length=64, initial="external-judge", label="Rater group")
    model_name = forms.CharField(
        max_length=200, required=False, label="Model", help_text="e.g. gpt-4o"
    )
