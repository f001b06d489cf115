"""Reads for the analysis app: judgements become arrays here (through annotations' selectors)."""

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from analysis.engine import CriterionData, Group
from analysis.models import AgreementRun
from annotations import selectors as annotations_selectors
from annotations.models import Criterion, Project

ITEM_TARGET = -1


def criterion_data_load(
    *, criterion: Criterion, items: list[tuple], raters: dict[int, tuple[str, str, str]]
) -> CriterionData:
    """One criterion's judgements as per-group code matrices over its targets.

    `items` and `raters` are `annotations.selectors.item_index` and `rater_index` of the
    project, loaded once per run.
    """
    rows = annotations_selectors.judgement_codes(criterion_id=criterion.pk)
    item_pks = np.array([entry[0] for entry in items], dtype=np.int64)  # ascending (by pk)
    n = len(rows)
    item = np.searchsorted(item_pks, np.fromiter((r[0] for r in rows), dtype=np.int64, count=n))
    step = np.fromiter(
        (ITEM_TARGET if r[1] is None else r[1] for r in rows), dtype=np.int64, count=n
    )
    rater = np.fromiter((r[2] for r in rows), dtype=np.int64, count=n)
    code = np.fromiter((r[3] for r in rows), dtype=np.float64, count=n)

    # A target is an (item, step) pair; number them densely.
    keys = item * (int(step.max(initial=0)) + 2) + (step + 1)
    unique_keys, target = np.unique(keys, return_inverse=True)
    first = np.zeros(len(unique_keys), dtype=np.int64)
    first[target] = np.arange(n)
    target_item, target_step = item[first], step[first]

    categorical = criterion.scale != Criterion.Scale.INTERVAL
    labels = criterion.value_labels
    n_categories = len(labels) if categorical else 0
    if not categorical and n and np.all(code == np.round(code)):
        # Whole-number interval scores (e.g. 1..10) work as equally spaced categories too.
        low = int(criterion.min_value)
        labels = list(range(low, int(criterion.max_value) + 1))
        code = code - low
        n_categories = len(labels)
    error_codes = [labels.index(x) for x in criterion.error_labels if x in labels]

    groups: dict[str, Group] = {}
    rater_ids = np.unique(rater)
    by_group: dict[str, list[int]] = {}
    for rid in rater_ids:
        by_group.setdefault(raters[int(rid)][2], []).append(int(rid))
    for group_name, members in sorted(by_group.items()):
        in_group = np.isin(rater, members)
        matrix = np.full((len(unique_keys), len(members)), np.nan)
        cols = np.searchsorted(np.array(members), rater[in_group])  # members are ascending
        matrix[target[in_group], cols] = code[in_group]
        kind = raters[members[0]][1]
        groups[group_name] = Group(name=group_name, kind=kind, codes=matrix)

    if criterion.scale == Criterion.Scale.PAIRWISE:
        item_pos = {int(pk): i for i, pk in enumerate(item_pks)}
        _attach_inconsistency(criterion, groups, raters, item_pos, target_item, target_step)

    return CriterionData(
        name=criterion.name,
        scale=criterion.scale,
        labels=labels,
        n_categories=n_categories,
        error_codes=error_codes,
        target_item=target_item,
        target_step=target_step,
        item_meta=[item[2] for item in items],
        item_ref=[item[1] for item in items],
        item_n_steps=np.array([item[3] for item in items], dtype=np.int64),
        item_lengths=np.array(
            [(np.nan if a is None else a, np.nan if b is None else b) for *_, a, b in items],
            dtype=np.float64,
        ).reshape(-1, 2),
        groups=groups,
    )


def _attach_inconsistency(criterion, groups, raters, item_pos, target_item, target_step):
    """Judges that saw both orders record `inconsistent` in the judgement's meta."""
    flags = annotations_selectors.judgement_meta_flags(
        criterion_id=criterion.pk, key="inconsistent"
    )
    if not flags:
        return
    target_of_item = {int(i): t for t, i in enumerate(target_item) if target_step[t] < 0}
    for group in groups.values():
        group_flags = [f for f in flags if raters[f[1]][2] == group.name]
        if not group_flags:
            continue
        # A judge that recorded the flag anywhere saw both orders everywhere: unflagged = 0.
        judged = ~np.isnan(group.codes).all(axis=1)
        inconsistent = np.where(judged, 0.0, np.nan)
        for item_id, _, value in group_flags:
            inconsistent[target_of_item[item_pos[item_id]]] = 1.0 if value else 0.0
        group.inconsistent = inconsistent


def run_get_for_lead(*, user: AbstractBaseUser, run_id: int) -> AgreementRun:
    run = AgreementRun.objects.select_related("project").filter(pk=run_id).first()
    if run is None or not annotations_selectors.user_is_lead(user=user, project=run.project):
        raise Http404("No such report.")
    return run


def runs_for_project(*, project: Project) -> list[AgreementRun]:
    return list(AgreementRun.objects.filter(project=project)[:20])


def human_groups(*, project: Project) -> list[str]:
    return sorted({group for _, kind, group in rater_groups(project=project) if kind == "human"})


def rater_groups(*, project: Project) -> set[tuple[str, str, str]]:
    return set(annotations_selectors.rater_index(project=project).values())


def meta_keys(*, project: Project) -> list[str]:
    """The item meta keys seen in the project (first 2,000 items), to suggest slices."""
    keys: set[str] = set()
    for meta in annotations_selectors.item_metas(project=project, limit=2000):
        keys.update(k for k, v in meta.items() if not isinstance(v, dict | list))
    return sorted(keys)


def headline_rows(*, run: AgreementRun) -> list:
    """Overall rows of a finished run, for the run page."""
    return list(run.results.filter(slice="all").order_by("criterion", "group_a", "group_b"))
