"""The query parameters of the review pages, validated and applied by django-filter.

Targets: `criterion` (a criterion's name), `slice` (`key=value`, as a report names it),
`group_a`, `group_b` (rater groups) and `agree` (`1`: the two groups' consensus is the same
label, `0`: different labels; targets where either group has no consensus are in neither).
The report's charts link here with exactly these names. A parameter that does not fit (an
unknown criterion or group, a slice that is not key=value, agree without two groups) is a
form error, answered 400 with the message, never a 500 and never silently ignored.

Items: `q` (the item's id or a word of its text), `meta` (`key=value`), `status`
(`gold`, `flagged`, `judged`, `unjudged`; judged and unjudged by `group`, default every group;
`submitted`, `skipped`: in someone's queue), `rater` (the items a rater judged, on `criterion`
if given; with a queue status, the items in that rater's queue with that status; with `gold`,
the gold items the rater judged). The QC page links here with `rater`, `criterion`, `status`.
"""

from urllib.parse import urlencode

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from annotations.models import Assignment, GoldItem, Item, Judgement, Project, Rater
from annotations.review.slices import Slice, SliceError, meta_q
from annotations.review.targets import TargetQuery, group_names

MAX_TEXT = 500
QUEUE_STATUSES = ("submitted", "skipped", "flagged")  # an annotator's assignment


class SliceField(forms.CharField):
    """`key=value` -> Slice (None for "" and all=all)."""

    def to_python(self, value: object) -> Slice | None:
        text = super().to_python(value)
        if len(text) > MAX_TEXT:
            raise forms.ValidationError(f"at most {MAX_TEXT} characters")
        try:
            return Slice.parse(text)
        except SliceError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def validate(self, value: object) -> None:
        if self.required and value is None:
            raise forms.ValidationError(self.error_messages["required"], code="required")

    def run_validators(self, value: object) -> None:
        return None  # checked on the text in to_python


class SliceFilter(django_filters.Filter):
    field_class = SliceField


class TargetForm(forms.Form):
    def clean(self) -> dict:
        data = super().clean()
        a, b = data.get("group_a"), data.get("group_b")
        if a and b and a == b:
            raise forms.ValidationError("group_a and group_b must be two different groups.")
        if data.get("agree") not in (None, "") and not (a and b):
            raise forms.ValidationError("agree compares two groups: give group_a and group_b.")
        return data


def _choices(names: list[str]) -> list[tuple[str, str]]:
    return [(n, n) for n in names]


class TargetFilter(django_filters.FilterSet):
    criterion = django_filters.ChoiceFilter(
        field_name="criterion__name", empty_label="every", label="Criterion"
    )
    slice = SliceFilter(method="filter_slice", label="Slice (key=value)")
    group_a = django_filters.ChoiceFilter(method="filter_groups", empty_label="—", label="Group A")
    group_b = django_filters.ChoiceFilter(method="filter_groups", empty_label="—", label="Group B")
    agree = django_filters.ChoiceFilter(
        choices=[("0", "they disagree"), ("1", "they agree")],
        method="filter_agree",
        empty_label="either",
        label="A and B",
    )

    class Meta:
        model = Judgement
        fields: list[str] = []
        form = TargetForm

    def __init__(self, data=None, *, project: Project, **kwargs) -> None:
        super().__init__(data, queryset=Judgement.objects.filter(item__project=project), **kwargs)
        self.filters["criterion"].extra["choices"] = _choices(
            list(project.criteria.values_list("name", flat=True))
        )
        groups = _choices(group_names(project=project))
        self.filters["group_a"].extra["choices"] = groups
        self.filters["group_b"].extra["choices"] = groups

    def filter_slice(self, queryset: QuerySet, name: str, value: Slice | None) -> QuerySet:
        return queryset if value is None else queryset.filter(value.q())

    def filter_groups(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Two groups compared: only their judgements are read (group_a's call does it once).
        a, b = self.form.cleaned_data.get("group_a"), self.form.cleaned_data.get("group_b")
        if name == "group_a" and a and b:
            return queryset.filter(rater__group__in=[a, b])
        return queryset

    def filter_agree(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # decided from the groups' consensus, after the query (targets.py)

    def query(self) -> TargetQuery:
        data = self.form.cleaned_data
        agree = data.get("agree")
        return TargetQuery(
            group_a=data.get("group_a") or None,
            group_b=data.get("group_b") or None,
            agree=None if agree in (None, "") else agree == "1",
        )

    def params(self) -> str:
        """The valid filters as a query string, to carry from the list to an item and back."""
        data = self.form.cleaned_data
        keep = {k: data.get(k) for k in ("criterion", "slice", "group_a", "group_b", "agree")}
        return urlencode({k: str(v) for k, v in keep.items() if v not in (None, "")})


class ItemForm(forms.Form):
    def clean(self) -> dict:
        data = super().clean()
        if data.get("group") and data.get("status") not in ("judged", "unjudged"):
            raise forms.ValidationError("group narrows status=judged or status=unjudged.")
        return data


class ItemFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", max_length=MAX_TEXT, label="Id or text")
    meta = SliceFilter(method="filter_meta", label="Meta (key=value)")
    status = django_filters.ChoiceFilter(
        choices=[
            ("judged", "judged"),
            ("unjudged", "not judged"),
            ("flagged", "flagged by an annotator"),
            ("gold", "gold"),
            ("submitted", "submitted by an annotator"),
            ("skipped", "skipped by an annotator"),
        ],
        method="filter_status",
        empty_label="any",
        label="Status",
    )
    group = django_filters.ChoiceFilter(
        method="filter_group", empty_label="any group", label="Judged by"
    )
    rater = django_filters.ChoiceFilter(method="filter_rater", empty_label="anyone", label="Rater")
    criterion = django_filters.ChoiceFilter(
        method="filter_rater", empty_label="every", label="Criterion"
    )

    class Meta:
        model = Item
        fields: list[str] = []
        form = ItemForm

    def __init__(self, data=None, *, project: Project, **kwargs) -> None:
        super().__init__(data, queryset=Item.objects.filter(project=project), **kwargs)
        self.project = project
        self.filters["group"].extra["choices"] = _choices(group_names(project=project))
        self.filters["rater"].extra["choices"] = _choices(
            list(project.raters.order_by("name").values_list("name", flat=True))
        )
        self.filters["criterion"].extra["choices"] = _choices(
            list(project.criteria.values_list("name", flat=True))
        )

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        text = Q(prompt__icontains=value) | Q(response__icontains=value)
        text |= Q(response_a__icontains=value) | Q(response_b__icontains=value)
        text |= Q(steps__text__icontains=value)
        matches = Item.objects.filter(text).values("pk")
        return queryset.filter(Q(external_id=value) | Q(pk__in=matches))

    def filter_meta(self, queryset: QuerySet, name: str, value: Slice | None) -> QuerySet:
        return queryset if value is None else queryset.filter(meta_q(value.key, value.value))

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "gold":
            return queryset.filter(Exists(GoldItem.objects.filter(item=OuterRef("pk"))))
        if value in QUEUE_STATUSES:
            queued = Assignment.objects.filter(item=OuterRef("pk"), status=value)
            rater = self.form.cleaned_data.get("rater")
            if rater:
                users = Rater.objects.filter(project=self.project, name=rater).values("user_id")
                queued = queued.filter(user_id__in=users)
            return queryset.filter(Exists(queued))
        judged = Judgement.objects.filter(item=OuterRef("pk"))
        group = self.form.cleaned_data.get("group")
        if group:
            judged = judged.filter(rater__group=group)
        return queryset.filter(Exists(judged) if value == "judged" else ~Exists(judged))

    def filter_group(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # narrows filter_status

    def filter_rater(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """The items the rater judged (on the criterion), or judged on the criterion; in the
        rater's queue instead when the status is a queue status (filter_status reads it)."""
        data = self.form.cleaned_data
        rater, criterion = data.get("rater"), data.get("criterion")
        if data.get("status") in QUEUE_STATUSES and rater:
            return queryset
        if name == "criterion" and rater:
            return queryset  # read with the rater, once
        judged = Judgement.objects.filter(item=OuterRef("pk"))
        if rater:
            judged = judged.filter(rater__name=rater)
        if criterion:
            judged = judged.filter(criterion__name=criterion)
        return queryset.filter(Exists(judged))

    def params(self) -> str:
        data = self.form.cleaned_data
        keep = {k: data.get(k) for k in ("q", "meta", "status", "group", "rater", "criterion")}
        return urlencode({k: str(v) for k, v in keep.items() if v not in (None, "")})
