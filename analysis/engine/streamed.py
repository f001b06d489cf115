"""The report in chunks of items: each chunk's additive sufficient statistics, then one merge.

A chunk is a `CriterionData` over some of the project's items (loaded by item-key range, see
`analysis.loading`). `chunk_sums` runs the same slice statistics as `engine.report` on it,
with a `stats.SumsRecorder` as the resampler: every statistic that is a function of sums of
per-target statistics (`stats.estimate_from_stats`) hands back its sums instead of a finished
interval. Sums of disjoint items add, so `ChunkSums` of all chunks added in any order and
grouping give the sums of the whole project, and `merged_rows` computes each statistic once.

Which statistics stream (`STREAMED_METRICS`): percent agreement (with and without ties),
Fleiss' kappa, Gwet's AC1, Krippendorff's alpha on categories (from the coincidence matrix),
Cohen's kappa (unweighted, linear, quadratic: from the contingency table of consensus labels)
and the missed- and false-error rates. Their point estimates are the metric of the summed
per-target statistics, as in `engine.report`; where those statistics are whole numbers (agreeing
pairs, contingency cells, every statistic on two or three raters per target) the sums are exact
in any order and the estimates are identical to the last bit; where they are fractions such as
1/3 (Fleiss and Gwet shares with three raters, alpha with four or more), the sums can differ in
the last bit with the order of addition (relative 1e-15). Alpha is the coincidence-matrix
formula, which the tests check against the `krippendorff` package.

Not streamed yet (they stay on the in-process path of `engine.report`): rank correlations
(Spearman and Kendall are not sums of per-target terms; Pearson is, but shares the code),
the earliest-error agreement and the gap to the human ceiling (their resamples go through
`bootstrap_replicates`, not `estimate_from_stats`), verdict, bias and score-judge statistics,
disagreement rows and chart data.
"""

import importlib
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from functools import partial

import numpy as np

from analysis.engine.data import Bootstrap, CriterionData, SliceArrays
from analysis.engine.slice_stats import Stat, between_groups, within_groups
from analysis.engine.slicing import slices
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
    }
)


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

    def to_bytes(self) -> bytes:
        """An .npz file: the arrays, and a JSON header naming keys, counts and metrics (no
        pickle: a chunk row read back can only name a function of `analysis.stats`)."""
        header, arrays = [], {}
        for i, (key, rec) in enumerate(self.records.items()):
            header.append([asdict(key), rec.n_items, rec.n_pairs, rec.name, _metric_spec(rec)])
            arrays[f"p{i}"], arrays[f"b{i}"] = rec.point, rec.boot
        out = io.BytesIO()
        meta = json.dumps({"n_items": self.n_items, "records": header})
        np.savez(out, header=np.array(meta), **arrays)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> "ChunkSums":
        with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["header"]))
            records = {
                SumsKey(**key): SumsRecord(
                    arrays[f"p{i}"], arrays[f"b{i}"], _metric(spec), n_items, n_pairs, name
                )
                for i, (key, n_items, n_pairs, name, spec) in enumerate(meta["records"])
            }
        return cls(records, meta["n_items"])

    def add(self, other: "ChunkSums") -> "ChunkSums":
        """Add `other` into this one (in place) and return it."""
        for key, rec in other.records.items():
            mine = self.records.get(key)
            self.records[key] = rec if mine is None else mine + rec
        self.n_items += other.n_items
        return self


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
    weights = poisson_weights(item_keys, n_boot, seed)
    labels = np.arange(len(item_keys))
    for slice_name, slice_value, mask in slices(data, slice_keys):
        arrays = SliceArrays.cut(data, mask)
        recorder = SumsRecorder(labels, weights)
        boot = Bootstrap(arrays.target_item, n_boot, recorder)
        found = _stats(arrays, boot, reference)
        for stat, rec in _paired(found, recorder.records):
            key = SumsKey(data.name, slice_name, slice_value, stat.group_a, stat.group_b,
                          stat.metric)  # fmt: skip
            out.records[key] = rec
    return out


def _stats(arrays: SliceArrays, boot: Bootstrap, reference: str | None) -> Iterator[Stat]:
    yield from within_groups(arrays, boot, unpaired=True)
    yield from between_groups(arrays, boot, reference, earliest_error=False)


def _paired(found: Iterable[Stat], records: list[SumsRecord]) -> Iterator[tuple[Stat, SumsRecord]]:
    """Each streamed statistic with the record its estimate left, in the order they came.

    A statistic records once per estimate, before the engine yields it (several estimates of
    one call, e.g. the kappas, are yielded in the order they were recorded); statistics that
    do not record (correlations, biases) find no record of their own name and are skipped.
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


def merged_rows(merged: ChunkSums, *, confidence: float, n_boot: int) -> list[ResultRow]:
    """The result rows of the merged sums, in key order."""
    label = f"{POISSON_LABEL} (B={n_boot}, {100 * confidence:g}% CI)"
    rows = []
    for key in sorted(merged.records):
        record = merged.records[key]
        if key.group_a == key.group_b and record.n_items == 0:
            continue  # no target judged twice in any chunk: the in-process report has no row
        est = estimate_from_record(record, confidence=confidence, interval_label=label)
        rows.append(
            ResultRow(
                criterion=key.criterion,
                slice=key.slice,
                slice_value=key.slice_value,
                group_a=key.group_a,
                group_b=key.group_b,
                metric=key.metric,
                estimate=est.value,
                ci_low=est.ci_low,
                ci_high=est.ci_high,
                n_items=est.n_items,
                n_pairs=est.n_pairs,
                method=est.method,
            )  # fmt: skip
        )
    return rows


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
    "STREAMED_METRICS",
    "ChunkSums",
    "SumsKey",
    "chunk_sums",
    "criterion_chunk",
    "merged_rows",
]
