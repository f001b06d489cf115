"""The report in chunks of items: each chunk's additive sufficient statistics, then one merge.

A chunk is a `CriterionData` over some of the project's items (loaded by item-key range, see
`analysis.loading`). `chunk_sums` runs the same slice statistics as `engine.report` on it,
with a `stats.SumsRecorder` as the resampler: every statistic that is a function of sums of
per-target statistics (`stats.estimate_from_stats`) hands back its sums instead of a finished
interval. Sums of disjoint items add, so `ChunkSums` of all chunks added in any order and
grouping give the sums of the whole project, and `merged_rows` computes each statistic once.

Which statistics stream (`STREAMED_METRICS`): percent agreement (with and without ties),
Fleiss' kappa, Gwet's AC1, Krippendorff's alpha on categories (from the coincidence matrix),
Cohen's kappa (unweighted, linear, quadratic: from the contingency table of consensus labels),
the missed- and false-error rates, the earliest-error accuracies and ProcessBench F1 (tallies
per solution), the gap to the human ceiling with its shortfall row (leave-one-out
agreement sums per expert, finished by `stats.gap_from_sums` as in the in-process report: the
same p-value rule, verdict and Benjamini-Hochberg adjustment), the judge-vs-judge accuracy
difference with McNemar's exact test (`stats.comparison_from_sums`) and the soft-label
agreement and log-loss. Their point estimates are the
metric of the summed per-target statistics, as in `engine.report`; where those statistics are
whole numbers (agreeing pairs, contingency cells, solution tallies, every statistic on two or
three raters per target) the sums are exact in any order and the estimates are identical to
the last bit; where they are fractions such as 1/3 (Fleiss and Gwet shares with three raters,
alpha with four or more), the sums can differ in the last bit with the order of addition
(relative 1e-15). Alpha is the coincidence-matrix formula, which the tests check against the
`krippendorff` package.

Soft-label agreement sums its per-target shares per denominator, so it is exact too; the
log-loss sums logarithms, exact to ~1e-15 relative. Correlations (Pearson, Spearman, Kendall
tau-b) stream where the per-target means lie on a grid (ordinal codes): their joint table is
summed one-hot cells (`stats.table_correlations`), exact as well. Not streamed yet (a streamed
run leaves their rows out; the in-process run has them; `NOT_STREAMED` tells the run page):
correlations of interval scores or of tables over 1,024 cells, position and length bias,
score-judge statistics, disagreement rows and chart data. The alternative annotator test
streams: per annotator, the counts of compared instances, of d = +1 and d = -1 and of each
side's wins (its t-test is a function of those: `stats.alt_test_from_sums`), and the count
of instances per set of compared annotators (for the items behind the tested ones), added
over chunks; the merge applies the run's epsilon. Rules that count a group's raters (a
ceiling needs two reference raters, the alt-test three, soft labels two) count those who
judged the criterion in any chunk (`ChunkSums.judged`), as the in-process report does; a gap
recorded with a ceiling that turns out to have none is finished from the pair's
percent-agreement record.
"""

import importlib
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import partial

import numpy as np

from analysis import stats
from analysis.config import RunConfig
from analysis.engine.data import Bootstrap, CriterionData, SliceArrays
from analysis.engine.report import Report, SliceKey, adjusted_shortfall
from analysis.engine.slice_stats import (
    CORRELATIONS,
    EARLIEST_ERROR_METRICS,
    GapStat,
    Stat,
    between_groups,
    gaps,
    within_groups,
)
from analysis.engine.slicing import slices
from analysis.engine.verdicts import (
    ALT_TEST_METRICS,
    ALT_TEST_MIN_RATERS,
    ALT_TEST_Q,
    JUDGE_PAIR_METRICS,
    SOFT_LABEL_METRICS,
    alt_test_inputs,
    alt_test_rows,
    judge_comparisons,
    judge_pair_stats,
    models_of,
)
from analysis.schema import ResultRow
from analysis.stats.bootstrap import SumsRecord, SumsRecorder, estimate_from_record
from analysis.stats.streaming import POISSON_LABEL, poisson_weights

STREAMED_METRICS = frozenset(
    {
        "percent_agreement",
        "percent_agreement_no_ties",
        "fleiss_kappa",
        "gwet_ac1",
        "krippendorff_alpha",
        "cohen_kappa",
        "cohen_kappa_linear",
        "cohen_kappa_quadratic",
        "missed_error_rate",
        "false_error_rate",
        *EARLIEST_ERROR_METRICS,
        "gap",
        *JUDGE_PAIR_METRICS,
        *SOFT_LABEL_METRICS,
        *(metric for metric, _ in CORRELATIONS),  # on ordinal grids (stats.table_correlations)
        *ALT_TEST_METRICS,
    }
)
# What a streamed run leaves out, as the run page tells a lead (the README says why).
NOT_STREAMED = (
    "correlations on interval scales or on tables of more than 1,024 cells",
    "position and length bias",
    "score-judge (reward model) statistics",
    "the list of disagreements",
    "the confusion-matrix, earliest-error-offset and ROC/PR charts (the shortfall chart is here)",
)
# Record keys of the gap to the human ceiling (one per judge group): finished by
# `stats.gap_from_sums` with a ceiling, as `gap_without_ceiling` of the agreement without.
GAP, GAP_NO_CEILING = "gap", "gap:no ceiling"
# Record key of a pair of judges (group_a, group_b), "judge pair:<reference group>": finished
# by `stats.comparison_from_sums` into the accuracy difference and McNemar's test, as
# `verdicts.judge_pairs` gives them.
JUDGE_PAIR = "judge pair"
# Record key of the alternative annotator test of a model group (group_b) against a human
# group (group_a): finished by `stats.alt_test_from_sums` with the run's epsilon.
ALT_TEST = "alt-test"


@dataclass(frozen=True, order=True)
class SumsKey:
    """Which row a record belongs to."""

    criterion: str
    slice: str
    slice_value: str
    group_a: str
    group_b: str
    metric: str


@dataclass
class ChunkSums:
    """The additive statistics of some items: one record per row, added key by key."""

    records: dict[SumsKey, SumsRecord] = field(default_factory=dict)
    n_items: int = 0
    # Items per (criterion, slice, value): a shortfall row is flagged small by its slice's items.
    slice_items: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # (criterion, group) -> the group's rater columns that judged anything. A chunk's matrices
    # hold a column for every rater of the project in the group; the in-process report only
    # the raters who judged the criterion, and some rules count them (a gap needs a ceiling of
    # two reference raters, the alt-test three annotators, soft labels two): the merge counts.
    judged: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    # Per alternative annotator test: instances compared per set of annotators (bitmask).
    patterns: dict[SumsKey, dict[int, int]] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """An .npz file: the arrays, and a JSON header naming keys, counts and metrics (no
        pickle: a chunk row read back can only name a function of `analysis.stats`)."""
        header, arrays = [], {}
        for i, (key, rec) in enumerate(self.records.items()):
            header.append([asdict(key), rec.n_items, rec.n_pairs, rec.name, _metric_spec(rec)])
            arrays[f"p{i}"], arrays[f"b{i}"] = rec.point, _compact(rec.boot)
        out = io.BytesIO()
        slice_items = [[*key, n] for key, n in self.slice_items.items()]
        patterns = [[asdict(key), [[f"{mask:x}", n] for mask, n in counts.items()]]
                    for key, counts in self.patterns.items()]  # fmt: skip
        meta = json.dumps({"n_items": self.n_items, "records": header, "slices": slice_items,
                           "judged": [[*key, sorted(cols)] for key, cols in self.judged.items()],
                           "patterns": patterns})  # fmt: skip
        np.savez(out, header=np.array(meta), **arrays)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "ChunkSums":
        with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["header"]))
            records = {
                SumsKey(**key): SumsRecord(
                    arrays[f"p{i}"],
                    arrays[f"b{i}"].astype(np.float64),
                    _metric(spec),
                    n_items,
                    n_pairs,
                    name,
                )
                for i, (key, n_items, n_pairs, name, spec) in enumerate(meta["records"])
            }
        slice_items = {(c, name, value): n for c, name, value, n in meta["slices"]}
        judged = {(criterion, group): set(cols) for criterion, group, cols in meta["judged"]}
        patterns = {SumsKey(**key): {int(mask, 16): n for mask, n in counts}
                    for key, counts in meta["patterns"]}  # fmt: skip
        return cls(records, meta["n_items"], slice_items, judged, patterns)

    def raters(self, criterion: str, group: str) -> int:
        """How many of the group's raters judged the criterion in the chunks added here."""
        return len(self.judged.get((criterion, group), ()))

    def add(self, other: "ChunkSums") -> "ChunkSums":
        """Add `other` into this one (in place) and return it."""
        for key, rec in other.records.items():
            mine = self.records.get(key)
            self.records[key] = rec if mine is None else mine + rec
        self.n_items += other.n_items
        for key, n in other.slice_items.items():
            self.slice_items[key] = self.slice_items.get(key, 0) + n
        for key, cols in other.judged.items():
            self.judged.setdefault(key, set()).update(cols)
        for key, counts in other.patterns.items():
            mine = self.patterns.setdefault(key, {})
            for mask, n in counts.items():
                mine[mask] = mine.get(mask, 0) + n
        return self


def _compact(boot: np.ndarray) -> np.ndarray:
    """Resample sums as float32 when that loses nothing: a chunk's come out of a float32
    product (SumsRecorder.flush), so they always do, and the stored chunk is half the size."""
    narrow = boot.astype(np.float32)
    return narrow if np.array_equal(narrow, boot) else boot


def _metric_spec(record: SumsRecord) -> dict:
    metric = record.metric
    func, kwargs = (metric.func, metric.keywords) if isinstance(metric, partial) else (metric, {})
    return {"module": func.__module__, "name": func.__qualname__, "kwargs": kwargs}


def _metric(spec: dict) -> Callable:
    if not spec["module"].startswith("analysis.stats."):
        raise ValueError(f"a chunk names a metric outside analysis.stats: {spec['module']}")
    func = getattr(importlib.import_module(spec["module"]), spec["name"])
    return partial(func, **spec["kwargs"]) if spec["kwargs"] else func


def chunk_sums(
    data: CriterionData,
    *,
    item_keys: np.ndarray,
    slice_keys: tuple[str, ...],
    reference: str | None,
    n_boot: int,
    seed: int,
) -> ChunkSums:
    """The additive statistics of one chunk of a criterion's items.

    Parameters
    ----------
    data : CriterionData
        The chunk's targets; ``data.target_item`` indexes ``item_keys``.
    item_keys : ndarray of int, shape (n_items,)
        The stable key (primary key) of each item: its resample weights derive from it.
    slice_keys : tuple of str
        Item meta keys to slice by, as in the run's config.
    reference : str or None
        The project's reference group (decided from all the project's groups, not the chunk's).
    n_boot : int
        Resamples, >= 1.
    seed : int
        The run's seed.
    """
    if n_boot < 1:
        raise ValueError("a streamed report needs n_boot >= 1")
    out = ChunkSums(n_items=int(np.unique(data.target_item).shape[0]))
    if not len(data.target_item):
        return out
    for name, group in data.groups.items():
        columns = np.flatnonzero(~np.isnan(group.codes).all(axis=0))
        if columns.size:
            out.judged[(data.name, name)] = set(columns.tolist())
    weights = poisson_weights(item_keys, n_boot, seed)
    labels = np.arange(len(item_keys))
    for slice_name, slice_value, mask in slices(data, slice_keys):
        arrays = SliceArrays.cut(data, mask)
        out.slice_items[(data.name, slice_name, slice_value)] = arrays.n_items
        recorder = SumsRecorder(labels, weights)
        found = list(_stats(arrays, Bootstrap(arrays.target_item, n_boot, recorder), reference))
        # Gaps, judge pairs and soft labels on a recorder of their own: each records once and
        # the merge finishes it (a gap whichever way it is measured; a pair's two rows).
        own = SumsRecorder(labels, weights)
        finished: list[tuple[str, str, str]] = []
        for human, model, counts in _alt_tests(arrays, own):
            finished.append((human, model, ALT_TEST))
            out.patterns[SumsKey(data.name, slice_name, slice_value, human, model, ALT_TEST)] = (
                counts
            )
        if reference is not None and reference in arrays.groups:
            own_boot = Bootstrap(arrays.target_item, n_boot, own)
            finished += [(reference, g.judge, GAP if g.with_ceiling else GAP_NO_CEILING)
                         for g in gaps(arrays, own_boot, reference)]  # fmt: skip
            if arrays.categorical:
                pairs = judge_comparisons(arrays, own_boot, reference)
                finished += [(a, b, f"{JUDGE_PAIR}:{reference}") for a, b, _ in pairs]
                finished += list(_soft_labels(arrays, own_boot, reference))
        # One product of the weights with every statistic of the slice, both recorders'.
        for stat, rec in _paired(found, recorder.flush(own)):
            key = SumsKey(data.name, slice_name, slice_value, stat.group_a, stat.group_b,
                          stat.metric)  # fmt: skip
            out.records[key] = rec
        for (a, b, metric), rec in zip(finished, own.records, strict=True):
            out.records[SumsKey(data.name, slice_name, slice_value, a, b, metric)] = rec
    return out


def _stats(arrays: SliceArrays, boot: Bootstrap, reference: str | None) -> Iterator[Stat]:
    yield from within_groups(arrays, boot, unpaired=True)
    yield from between_groups(arrays, boot, reference)


def _alt_tests(
    arrays: SliceArrays, recorder: SumsRecorder
) -> Iterator[tuple[str, str, dict[int, int]]]:
    """Each alternative annotator test: its per-target statistics recorded without resamples
    (the test has no interval; the merge applies the run's epsilon); yields (human group,
    model group, instances per set of compared annotators)."""
    for human, model, judge, scoring in alt_test_inputs(arrays):
        target_stats = stats.alt_test_stats(judge, human.codes, scoring=scoring)
        recorder.record(target_stats, stats.alt_test_metric, arrays.target_item, 0, 0,
                        f"alt-test {scoring}", resampled=False)  # fmt: skip
        yield human.name, model.name, stats.alt_test_patterns(target_stats)


def _soft_labels(
    arrays: SliceArrays, boot: Bootstrap, reference: str
) -> Iterator[tuple[str, str, str]]:
    """`verdicts.soft_labels` for a chunk: every statistic records, with or without targets
    here (the in-process report leaves out a judge with none in the slice: so does the merge,
    from the summed count)."""
    ref_codes = arrays.groups[reference].codes
    if ref_codes.shape[1] < 2:
        return
    kw = {"n_categories": arrays.n_categories, "min_reference": 2, **boot.kwargs()}
    for model in models_of(arrays, reference):
        stats.soft_agreement(model.codes, ref_codes, **kw)
        yield reference, model.name, SOFT_LABEL_METRICS[0]
        if model.codes.shape[1] >= 2:
            stats.soft_log_loss(model.codes, ref_codes, **kw)
            yield reference, model.name, SOFT_LABEL_METRICS[1]


def _paired(found: Iterable[Stat], records: list[SumsRecord]) -> Iterator[tuple[Stat, SumsRecord]]:
    """Each streamed statistic with the record its estimate left, in the order they came.

    A statistic records once per estimate, before the engine yields it (several estimates of
    one call, e.g. the kappas, are yielded in the order they were recorded); statistics that
    do not record (position consistency, length bias) are not streamed and are skipped.
    """
    taken = 0
    for stat in found:
        if stat.metric not in STREAMED_METRICS or taken >= len(records):
            continue
        rec = records[taken]
        if not stat.estimate.method.startswith(rec.name.split("; ")[0]):
            raise RuntimeError(f"{stat.metric}: recorded {rec.name!r}, out of step")
        taken += 1
        yield stat, rec


def merged_report(
    merged: ChunkSums,
    *,
    confidence: float,
    n_boot: int,
    min_slice_items: int,
    epsilon_for: Callable[[str], float] | None = None,
) -> Report:
    """The result and shortfall rows of the merged sums, rows in key order; `epsilon_for`
    gives the alternative annotator test's margin per human group (the run's config)."""
    label = f"{POISSON_LABEL} (B={n_boot}, {100 * confidence:g}% CI)"
    epsilon_for = epsilon_for or RunConfig().epsilon_for
    report = Report()
    for key in sorted(merged.records):
        record = merged.records[key]
        slice_key = SliceKey(key.criterion, key.slice, key.slice_value)
        if key.metric == ALT_TEST:
            if (
                merged.raters(key.criterion, key.group_a) >= ALT_TEST_MIN_RATERS
                and merged.raters(key.criterion, key.group_b) > 0
            ):
                result = stats.alt_test_from_sums(
                    record.point, merged.patterns.get(key, {}), epsilon=epsilon_for(key.group_a),
                    q=ALT_TEST_Q, scoring=record.name.split(" ")[-1],
                )  # fmt: skip
                report.rows += [
                    slice_key.row(s) for s in alt_test_rows(key.group_a, key.group_b, result)
                ]
            continue
        if key.metric in (GAP, GAP_NO_CEILING):
            # As slice_stats.gaps: with a ceiling where two reference raters judged, only for
            # judges that judged. A chunk whose matrix had two reference columns recorded the
            # ceiling; without one, the gap is the agreement of the pair minus 1, whose sums
            # the pair's percent-agreement record holds.
            if not merged.raters(key.criterion, key.group_b):
                continue
            if key.metric == GAP and merged.raters(key.criterion, key.group_a) < 2:
                key = replace(key, metric=GAP_NO_CEILING)
                record = merged.records.get(replace(key, metric="percent_agreement"))
                if record is None:
                    continue
            gap = _merged_gap(key, record, confidence=confidence, interval_label=label)
            n_slice = merged.slice_items.get((key.criterion, key.slice, key.slice_value), 0)
            report.shortfall.append(
                slice_key.shortfall(key.group_a, gap, gap.gap.n_items, n_slice < min_slice_items)
            )
            if gap.with_ceiling:
                report.rows.append(slice_key.row(Stat(key.group_a, gap.judge, GAP, gap.gap)))
            continue
        if key.metric.startswith(f"{JUDGE_PAIR}:"):
            if record.n_items:
                ref = key.metric.removeprefix(f"{JUDGE_PAIR}:")
                est = estimate_from_record(record, confidence=confidence, interval_label=label)
                result = stats.comparison_from_sums(record.point, est)
                pair = judge_pair_stats(key.group_a, key.group_b, ref, result, label)
                report.rows += [slice_key.row(stat) for stat in pair]
            continue
        if key.metric in SOFT_LABEL_METRICS and (
            record.n_items == 0 or merged.raters(key.criterion, key.group_a) < 2
        ):
            continue  # as verdicts.soft_labels: a distribution of two labels, a target
        if key.group_a == key.group_b and record.n_items == 0:
            continue  # no target judged twice in any chunk: the in-process report has no row
        est = estimate_from_record(record, confidence=confidence, interval_label=label)
        report.rows.append(slice_key.row(Stat(key.group_a, key.group_b, key.metric, est)))
    report.shortfall = adjusted_shortfall(report.shortfall)
    return report


def merged_rows(merged: ChunkSums, *, confidence: float, n_boot: int) -> list[ResultRow]:
    """The result rows of the merged sums, in key order."""
    return merged_report(merged, confidence=confidence, n_boot=n_boot, min_slice_items=0).rows


def _merged_gap(
    key: SumsKey, record: SumsRecord, *, confidence: float, interval_label: str
) -> GapStat:
    """The gap of a judge group as `slice_stats.gaps` gives it, from the merged sums."""
    if key.metric == GAP_NO_CEILING:
        agree = estimate_from_record(record, confidence=confidence, interval_label=interval_label)
        return GapStat(
            judge=key.group_b, gap=stats.gap_without_ceiling(agree), p_value=float("nan"),
            verdict="no human ceiling (one reference rater)", judge_agreement=agree.value,
            human_agreement=float("nan"), with_ceiling=False,
        )  # fmt: skip
    result = stats.gap_from_sums(
        record.point, record.boot, n_items=record.n_items, tie_code=None,
        interval_label=interval_label, confidence=confidence,
    )  # fmt: skip
    return GapStat(
        judge=key.group_b, gap=result.gap, p_value=result.p_value, verdict=result.verdict,
        judge_agreement=result.model_agreement.value,
        human_agreement=result.human_agreement.value, with_ceiling=True,
    )  # fmt: skip


def criterion_chunk(data: CriterionData, items: np.ndarray) -> CriterionData:
    """The part of `data` on the item indices `items` (ascending), re-indexed from 0: what
    loading the chunk's item range from the database gives. For tests and benchmarks."""
    keep = np.isin(data.target_item, items)
    groups = {
        name: replace(g, codes=g.codes[keep],
                      inconsistent=None if g.inconsistent is None else g.inconsistent[keep])
        for name, g in data.groups.items()
    }  # fmt: skip
    return replace(
        data,
        target_item=np.searchsorted(items, data.target_item[keep]),
        target_step=data.target_step[keep],
        item_meta=[data.item_meta[i] for i in items],
        item_ref=[data.item_ref[i] for i in items],
        item_n_steps=data.item_n_steps[items],
        item_lengths=None if data.item_lengths is None else data.item_lengths[items],
        groups=groups,
        score_groups={},
    )


__all__ = [
    "NOT_STREAMED",
    "STREAMED_METRICS",
    "ChunkSums",
    "SumsKey",
    "chunk_sums",
    "criterion_chunk",
    "merged_report",
    "merged_rows",
]
