"""The loader: a criterion's judgements, read through `annotations.selectors`, become the
typed arrays of a `CriterionData`.

Two steps, so that a later version can load item ranges in chunks: `judgement_arrays` reads
the judgements as parallel columns (one entry per judgement), and `criterion_data_build`
turns columns into per-group matrices without touching the database again.
"""

from dataclasses import dataclass, replace

import numpy as np

from analysis.engine import CriterionData, Group
from analysis.engine.calibration import calibrated
from annotations import selectors as annotations_selectors
from annotations.models import Criterion, Project
from annotations.selectors import JudgementColumns, JudgementFlag, RaterRecord
from annotations.values import MAX_SCALE_CATEGORIES

ITEM_TARGET = -1  # the step of a judgement about a whole item


@dataclass(frozen=True)
class ProjectIndex:
    """The items and raters of a project, loaded once per run.

    ``item_pk: (n_items,)`` ascending; an item's position in it is its index in the arrays.
    ``item_lengths: (n_items, 2)``: lengths of answers A and B, NaN where absent.
    """

    item_pk: np.ndarray
    item_meta: list[dict]
    item_ref: list[str]
    item_n_steps: np.ndarray
    item_lengths: np.ndarray
    raters: dict[int, RaterRecord]


@dataclass(frozen=True)
class JudgementArrays:
    """A criterion's judgements as parallel columns, shape (n_judgements,) each."""

    item: np.ndarray  # index into ProjectIndex.item_pk
    step: np.ndarray  # step index, ITEM_TARGET for item-level judgements
    rater: np.ndarray  # rater id
    code: np.ndarray  # float code (label index, or the score for interval criteria)


def project_index_load(
    *, project: Project, item_range: tuple[int, int] | None = None, using: str = "default"
) -> ProjectIndex:
    """The project's items (those with low <= pk < high for an `item_range`) and raters,
    read from the database alias `using`."""
    items = annotations_selectors.item_index(project=project, item_range=item_range, using=using)
    lengths = [(_or_nan(item.len_a), _or_nan(item.len_b)) for item in items]
    return ProjectIndex(
        item_pk=np.array([item.pk for item in items], dtype=np.int64),
        item_meta=[item.meta for item in items],
        item_ref=[item.external_id for item in items],
        item_n_steps=np.array([item.n_steps for item in items], dtype=np.int64),
        item_lengths=np.array(lengths, dtype=np.float64).reshape(-1, 2),
        raters=annotations_selectors.rater_index(project=project, using=using),
    )


def _or_nan(length: int | None) -> float:
    return np.nan if length is None else float(length)


def judgement_arrays(
    *,
    criterion: Criterion,
    index: ProjectIndex,
    item_range: tuple[int, int] | None = None,
    using: str = "default",
) -> JudgementArrays:
    columns = annotations_selectors.judgement_codes(
        criterion_id=criterion.pk, item_range=item_range, using=using
    )
    return _arrays(columns, index)


def score_arrays(*, criterion: Criterion, index: ProjectIndex) -> JudgementArrays:
    """A criterion's scores (reward models, PRMs) as judgement columns, the score as code."""
    return _arrays(annotations_selectors.score_columns(criterion_id=criterion.pk), index)


def _arrays(columns: JudgementColumns, index: ProjectIndex) -> JudgementArrays:
    # None (an item-level judgement) becomes NaN, then ITEM_TARGET.
    step = np.array(columns.steps, dtype=np.float64)
    return JudgementArrays(
        item=np.searchsorted(index.item_pk, np.array(columns.item_ids, dtype=np.int64)),
        step=np.where(np.isnan(step), ITEM_TARGET, step).astype(np.int64),
        rater=np.array(columns.rater_ids, dtype=np.int64),
        code=np.array(columns.codes, dtype=np.float64),
    )


def criterion_data_load(*, criterion: Criterion, index: ProjectIndex) -> CriterionData:
    """One criterion's judgements as per-group code matrices over its targets."""
    judgements = judgement_arrays(criterion=criterion, index=index)
    flags = []
    if criterion.scale == Criterion.Scale.PAIRWISE:
        flags = annotations_selectors.judgement_meta_flags(
            criterion_id=criterion.pk, key="inconsistent"
        )
    data = criterion_data_build(criterion, judgements, index, flags)
    if calibrated(criterion.scale, data.error_codes):
        scores = score_arrays(criterion=criterion, index=index)
        data = with_score_groups(data, scores, index.raters)
    return data


def criterion_chunk_load(
    *, criterion: Criterion, index: ProjectIndex, item_range: tuple[int, int], using: str
) -> CriterionData:
    """The judgements on the items of one key range (`index` loaded for the same range), for
    a streamed report, read from the database alias `using`. Each group has a column for
    every rater of the project in it, judged here or not, so that every chunk's matrices (and
    sums) have the same shape."""
    judgements = judgement_arrays(
        criterion=criterion, index=index, item_range=item_range, using=using
    )
    return criterion_data_build(criterion, judgements, index, [], every_rater=True)


def with_score_groups(
    data: CriterionData, scores: JudgementArrays, raters: dict[int, RaterRecord]
) -> CriterionData:
    """`data` with its score raters' groups: score matrices over the judged targets (a score
    on a target nobody judged has no label to be calibrated against, and is left out)."""
    if not len(scores.item):
        return data
    width = int(max(data.target_step.max(initial=0), scores.step.max(initial=0))) + 2
    target_keys = data.target_item * width + (data.target_step + 1)  # ascending: see _targets
    keys = scores.item * width + (scores.step + 1)
    target = np.searchsorted(target_keys, keys)
    found = target < len(target_keys)
    found[found] = target_keys[target[found]] == keys[found]
    kept = JudgementArrays(
        scores.item[found], scores.step[found], scores.rater[found], scores.code[found]
    )
    groups = _group_matrices(kept, kept.code, target[found], len(target_keys), raters)
    return replace(data, score_groups=groups)


def criterion_data_build(
    criterion: Criterion,
    judgements: JudgementArrays,
    index: ProjectIndex,
    flags: list[JudgementFlag],
    *,
    every_rater: bool = False,
) -> CriterionData:
    target, target_item, target_step = _targets(judgements)
    labels, n_categories, code = _scale(criterion, judgements.code)
    groups = _group_matrices(
        judgements, code, target, len(target_item), index.raters, every_rater=every_rater
    )
    if flags:
        groups = _with_inconsistency(groups, flags, index, target_item, target_step)
    return CriterionData(
        name=criterion.name,
        scale=criterion.scale,
        labels=labels,
        n_categories=n_categories,
        error_codes=[labels.index(x) for x in criterion.error_labels if x in labels],
        target_item=target_item,
        target_step=target_step,
        item_meta=index.item_meta,
        item_ref=index.item_ref,
        item_n_steps=index.item_n_steps,
        item_lengths=index.item_lengths,
        groups=groups,
    )


def _targets(judgements: JudgementArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Number the (item, step) targets densely: each judgement's target, and each target's
    item and step."""
    item, step = judgements.item, judgements.step
    keys = item * (int(step.max(initial=0)) + 2) + (step + 1)
    unique_keys, target = np.unique(keys, return_inverse=True)
    first = np.zeros(len(unique_keys), dtype=np.int64)
    first[target] = np.arange(len(item))
    return target, item[first], step[first]


def _scale(criterion: Criterion, code: np.ndarray) -> tuple[list, int, np.ndarray]:
    """The labels, the number of categories (0: not categorical) and the codes."""
    labels = criterion.value_labels
    if criterion.scale != Criterion.Scale.INTERVAL:
        return labels, len(labels), code
    width = criterion.max_value - criterion.min_value + 1
    if len(code) and width <= MAX_SCALE_CATEGORIES and np.all(code == np.round(code)):
        # Whole-number scores on a short scale (e.g. 1..10) work as equally spaced categories
        # too. A wider one (0..100, 0..1e6) gets interval statistics on the values only:
        # category tables there cost (targets x k x k) and mean little.
        low = int(criterion.min_value)
        labels = list(range(low, int(criterion.max_value) + 1))
        return labels, len(labels), code - low
    return labels, 0, code


def _group_matrices(
    judgements: JudgementArrays,
    code: np.ndarray,
    target: np.ndarray,
    n_targets: int,
    raters: dict[int, RaterRecord],
    *,
    every_rater: bool = False,
) -> dict[str, Group]:
    rater = judgements.rater
    by_group: dict[str, list[int]] = {}
    for rid in sorted(raters) if every_rater else np.unique(rater):
        by_group.setdefault(raters[int(rid)].group, []).append(int(rid))
    groups: dict[str, Group] = {}
    for group_name, members in sorted(by_group.items()):
        in_group = np.isin(rater, members)
        matrix = np.full((n_targets, len(members)), np.nan)
        cols = np.searchsorted(np.array(members), rater[in_group])  # members are ascending
        matrix[target[in_group], cols] = code[in_group]
        groups[group_name] = Group(group_name, raters[members[0]].kind, matrix)
    return groups


def _with_inconsistency(
    groups: dict[str, Group],
    flags: list[JudgementFlag],
    index: ProjectIndex,
    target_item: np.ndarray,
    target_step: np.ndarray,
) -> dict[str, Group]:
    """Judges that saw both orders record `inconsistent` in the judgement's meta."""
    item_pos = {int(pk): i for i, pk in enumerate(index.item_pk)}
    target_of_item = {int(i): t for t, i in enumerate(target_item) if target_step[t] < 0}
    out = {}
    for name, group in groups.items():
        group_flags = [f for f in flags if index.raters[f.rater_id].group == name]
        if not group_flags:
            out[name] = group
            continue
        # A judge that recorded the flag anywhere saw both orders everywhere: unflagged = 0.
        judged = ~np.isnan(group.codes).all(axis=1)
        inconsistent = np.where(judged, 0.0, np.nan)
        for flag in group_flags:
            inconsistent[target_of_item[item_pos[flag.item_id]]] = 1.0 if flag.value else 0.0
        out[name] = replace(group, inconsistent=inconsistent)
    return out
