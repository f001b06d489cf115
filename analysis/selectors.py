"""Reads for the analysis app's pages: runs, with the access check that starts from the user.

The judgements a report computes on are read by `analysis.loading`.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from analysis.models import AgreementResult, AgreementRun, ReportDocument, ShortfallResult
from analysis.schema import ChartRow, ResultRow, ShortfallRow, column_names, row_from_stored
from annotations import selectors as annotations_selectors
from annotations.models import Project


def run_get_for_lead(*, user: AbstractBaseUser, run_id: int) -> AgreementRun:
    run = AgreementRun.objects.select_related("project").filter(pk=run_id).first()
    if run is None or not annotations_selectors.user_is_lead(user=user, project=run.project):
        raise Http404("No such report.")
    return run


def runs_for_project(*, project: Project) -> list[AgreementRun]:
    return list(AgreementRun.objects.filter(project=project)[:20])


def human_groups(*, project: Project) -> list[str]:
    raters = annotations_selectors.rater_index(project=project).values()
    return sorted({rater.group for rater in raters if rater.kind == "human"})


SLICE_VALUE_CHARS = 64  # longer values are texts (answers, questions), not categories
SLICE_MAX_VALUES = 100


def meta_key_values(*, project: Project) -> dict[str, int]:
    """The item meta keys worth slicing by, with their number of distinct values, seen in the
    project's first 2,000 items: scalar values, none longer than SLICE_VALUE_CHARS, at most
    SLICE_MAX_VALUES distinct ones (so ids and texts kept in meta, such as MT-bench's turn-1
    answers, are not suggested)."""
    values: dict[str, set] = {}
    texts: set[str] = set()
    for meta in annotations_selectors.item_metas(project=project, limit=2000):
        for key, value in meta.items():
            if isinstance(value, dict | list) or len(str(value)) > SLICE_VALUE_CHARS:
                texts.add(key)
            else:
                values.setdefault(key, set()).add(value)
    return {
        k: len(v)
        for k, v in sorted(values.items())
        if k not in texts and len(v) <= SLICE_MAX_VALUES
    }


def meta_keys(*, project: Project) -> list[str]:
    """The item meta keys worth slicing by (see `meta_key_values`)."""
    return list(meta_key_values(project=project))


def headline_rows(*, run: AgreementRun) -> list:
    """Overall rows of a finished run, for the run page."""
    return list(run.results.filter(slice="all").order_by("criterion", "group_a", "group_b"))


def result_rows(*, run: AgreementRun, slice_key: str | None = None) -> list[ResultRow]:
    """A run's result rows (all, or one slice key's), as the engine made them."""
    rows = run.results.all()
    if slice_key is not None:
        rows = rows.filter(slice=slice_key)
    return [row_from_stored(ResultRow, v) for v in rows.values(*column_names(ResultRow))]


def shortfall_rows(*, run: AgreementRun) -> list[ShortfallRow]:
    """A run's shortfall rows in rank order, as the engine made them."""
    values = run.shortfall.order_by("rank").values(*column_names(ShortfallRow))
    return [row_from_stored(ShortfallRow, v) for v in values]


def headline_inputs(*, run_ids: list[int]) -> dict[int, tuple[list[ShortfallRow], list[ResultRow]]]:
    """Per run: its shortfall rows in rank order and its overall result rows, what
    `analysis.headline` reads; two queries however many runs (the overview reads them all)."""
    found: dict[int, tuple[list[ShortfallRow], list[ResultRow]]] = {pk: ([], []) for pk in run_ids}
    shortfall = ShortfallResult.objects.filter(run_id__in=run_ids).order_by("run_id", "rank")
    for values in shortfall.values("run_id", *column_names(ShortfallRow)):
        found[values.pop("run_id")][0].append(row_from_stored(ShortfallRow, values))
    overall = AgreementResult.objects.filter(run_id__in=run_ids, slice="all").order_by("pk")
    for values in overall.values("run_id", *column_names(ResultRow)):
        found[values.pop("run_id")][1].append(row_from_stored(ResultRow, values))
    return found


def chart_rows(*, run: AgreementRun) -> list[ChartRow]:
    """The numbers behind a run's charts (confusion cells, offsets, curve points)."""
    values = run.chart_rows.order_by("pk").values(*column_names(ChartRow))
    return [row_from_stored(ChartRow, v) for v in values]


def criterion_labels(*, run: AgreementRun) -> dict[str, list[str]]:
    """Each criterion's labels as text, in the criterion's order (for chart axes)."""
    return {c.name: [str(label) for label in c.value_labels] for c in run.project.criteria.all()}


def run_has_document(*, run: AgreementRun) -> bool:
    return ReportDocument.objects.filter(run=run).exists()


def run_document_html(*, run: AgreementRun) -> str | None:
    """The run's self-contained HTML report, None until its task has made it."""
    return ReportDocument.objects.filter(run=run).values_list("html", flat=True).first()
