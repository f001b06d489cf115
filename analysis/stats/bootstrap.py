"""Vectorised percentile bootstrap over clusters of targets.

Every metric in this package is a smooth function of *sums* of per-target sufficient
statistics (agreeing pairs and pairs, per-category proportions, contingency cells, coincidence
cells, ...). Resampling clusters with replacement therefore only changes how often each
cluster's statistics enter the sums, so all resamples are computed at once::

    counts (n_boot, n_clusters)  @  cluster_stats (n_clusters, n_stats)  ->  (n_boot, n_stats)

and the metric is evaluated once on the ``(n_boot, n_stats)`` array. Targets that must move
together (the steps of one solution) share a cluster id.

References
----------
Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap, ch. 13 (percentile
interval). Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their Application,
sec. 3.8 (resampling clusters).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
import scipy.sparse

from analysis.stats._validate import check_confidence
from analysis.stats.results import Estimate

SumsMetric = Callable[[np.ndarray], np.ndarray]

# Bounds the (chunk, n_clusters) count matrix to ~32 MB of float64 whatever the data size.
_MAX_CELLS_PER_CHUNK = 4_000_000


@dataclass(frozen=True, eq=False)
class Resampler:
    """One set of cluster resamples, shared by every statistic computed on the same data.

    A report computes a dozen statistics per slice. Drawing the resamples once per slice and
    passing this object as ``rng`` makes all of them use the same resamples: it is faster
    (drawing ``n_boot x n_clusters`` counts costs more than most statistics) and the
    intervals of one slice are then jointly consistent. A statistic that leaves some targets
    out (e.g. targets without a consensus) still resamples the slice's clusters; the left-out
    ones contribute nothing to a resample.

    Attributes
    ----------
    labels : ndarray, shape (n_clusters,)
        Sorted cluster labels.
    counts : ndarray of float32, shape (n_boot, n_clusters)
        How often each cluster is drawn in each resample (rows sum to ``n_clusters``).
    """

    labels: np.ndarray
    counts: np.ndarray

    @classmethod
    def draw(cls, clusters: npt.ArrayLike, n_boot: int, rng: np.random.Generator) -> Resampler:
        """Draw ``n_boot`` resamples of the distinct labels in ``clusters``."""
        check_bootstrap_args(n_boot, rng)
        labels = np.unique(np.asarray(clusters))
        counts = np.empty((n_boot, labels.shape[0]), dtype=np.float32)
        start = 0
        for block in resample_counts(labels.shape[0], n_boot, rng):
            counts[start : start + block.shape[0]] = block
            start += block.shape[0]
        return cls(labels, counts)

    @property
    def n_boot(self) -> int:
        return int(self.counts.shape[0])

    def columns(self, clusters: npt.ArrayLike) -> np.ndarray:
        """The column of ``counts`` for each cluster label; ValueError for an unknown one."""
        wanted = np.asarray(clusters)
        cols = np.searchsorted(self.labels, wanted)
        found = cols < self.labels.shape[0]
        found[found] = self.labels[cols[found]] == wanted[found]
        if not found.all():
            raise ValueError("clusters holds labels that this Resampler did not draw")
        return cols

    def sums(self, target_stats: np.ndarray, clusters: npt.ArrayLike) -> np.ndarray:
        """Sums of per-target statistics over every resample, shape (n_boot, n_stats)."""
        cols = self.columns(clusters)
        used, ids = np.unique(cols, return_inverse=True)
        per_cluster = sum_by_cluster(target_stats, ids.reshape(-1), used.shape[0])
        # Few clusters: gather their columns; most of them: one pass over the whole matrix.
        if used.shape[0] * 2 < self.labels.shape[0]:
            counts = self.counts[:, used]
        else:
            counts = self.counts
            full = np.zeros((self.labels.shape[0], per_cluster.shape[1]))
            full[used] = per_cluster
            per_cluster = full
        return (counts @ per_cluster.astype(np.float32)).astype(np.float64)


@dataclass(frozen=True)
class SumsRecord:
    """What one statistic needs from one chunk of targets: additive sufficient statistics.

    Adding the records of disjoint chunks (``point`` to ``point``, ``boot`` to ``boot``,
    counts to counts) gives the record of their union; ``metric`` of the sums is then the
    statistic (see :func:`estimate_from_record`).

    Attributes
    ----------
    point : ndarray of float64, shape (n_stats,)
        Column sums of the chunk's per-target statistics.
    boot : ndarray of float64, shape (n_boot, n_stats)
        The same sums weighted by each resample's cluster weights.
    metric : callable
        Maps sums ``(..., n_stats)`` to values ``(...)``; a module-level function or a
        ``functools.partial`` of one, so that a record can be pickled to another process.
    n_items, n_pairs : int
        The chunk's counts, as the statistic reports them (additive over disjoint items).
    name : str
        Estimator name (the first part of ``Estimate.method``).
    """

    point: np.ndarray
    boot: np.ndarray
    metric: SumsMetric
    n_items: int
    n_pairs: int
    name: str

    def __add__(self, other: SumsRecord) -> SumsRecord:
        return SumsRecord(
            self.point + other.point,
            self.boot + other.boot,
            self.metric,
            self.n_items + other.n_items,
            self.n_pairs + other.n_pairs,
            self.name if self.name == other.name else _base_name(self.name),
        )


def _base_name(name: str) -> str:
    # A note a statistic appends from its own data (alpha's "little variation") describes one
    # chunk, not the union: drop it when chunks disagree.
    return name.split("; ")[0]


@dataclass(frozen=True, eq=False)
class SumsRecorder(Resampler):
    """A Resampler that records sums instead of finishing the statistic.

    Passed as ``rng``, it makes :func:`estimate_from_stats` append a :class:`SumsRecord` to
    ``records`` (and return the point estimate without an interval): the statistic's own
    code says which per-target statistics and which metric, so a streamed run reuses every
    rule as it stands. ``counts`` are the chunk's resample weights (see
    :func:`analysis.stats.streaming.poisson_weights`).

    A record's point sums are there at once; its resample sums (``boot``) are filled in by
    :meth:`flush`, which multiplies the weights with every pending statistic of the slice in
    one product: one pass over the ``(n_boot, n_clusters)`` weights instead of one per
    statistic (two thirds of a chunk's time when each statistic took its own).
    """

    records: list[SumsRecord] = field(default_factory=list)
    _pending: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)

    def record(
        self, target_stats: np.ndarray, metric: SumsMetric, clusters: npt.ArrayLike | None,
        n_items: int, n_pairs: int, name: str, *, resampled: bool = True,
    ) -> SumsRecord:  # fmt: skip
        """Record a statistic's sums; its ``boot`` is empty until :meth:`flush`, and stays
        empty without `resampled` (a statistic with no interval, such as the alt-test)."""
        if clusters is None:
            raise ValueError("a SumsRecorder needs the cluster label of each target")
        stats = np.asarray(target_stats, dtype=np.float64)
        point = stats.sum(axis=0)
        rec = SumsRecord(point, np.empty((0, *point.shape)), metric, n_items, n_pairs, name)
        if resampled:
            columns = stats if stats.ndim == 2 else stats[:, None]
            self._pending.append((len(self.records), self.columns(clusters), columns))
        self.records.append(rec)
        return rec

    def flush(self, *others: SumsRecorder) -> list[SumsRecord]:
        """Fill in the resample sums of every record made since the last flush, here and in
        `others` (recorders over the same weights: one product for all); this one's records."""
        recorders = [self, *others]
        if any(r.counts is not self.counts for r in others):
            raise ValueError("recorders flushed together must share their resample weights")
        pending = [(r, *entry) for r in recorders for entry in r._pending]
        if not pending:
            return self.records
        widths = [stats.shape[1] for _, _, _, stats in pending]
        starts = np.concatenate([[0], np.cumsum(widths)])
        used = np.unique(np.concatenate([cols for _, _, cols, _ in pending]))
        per_cluster = np.zeros((used.shape[0], int(starts[-1])), dtype=np.float32)
        for (_, _, cols, stats), start, width in zip(pending, starts, widths, strict=False):
            rows = np.searchsorted(used, cols)
            per_cluster[:, start : start + width] = sum_by_cluster(stats, rows, used.shape[0])
        # Few clusters: gather their columns; most of them: the whole matrix, as in sums().
        if used.shape[0] * 2 < self.labels.shape[0]:
            boot = self.counts[:, used] @ per_cluster
        else:
            full = np.zeros((self.labels.shape[0], per_cluster.shape[1]), dtype=np.float32)
            full[used] = per_cluster
            boot = self.counts @ full
        for (owner, index, _, _), start, width in zip(pending, starts, widths, strict=False):
            rec = owner.records[index]
            part = boot[:, start : start + width].astype(np.float64)
            owner.records[index] = replace(rec, boot=part.reshape(-1, *rec.point.shape))
        for r in recorders:
            r._pending.clear()
        return self.records


def estimate_from_record(record: SumsRecord, *, confidence: float, interval_label: str) -> Estimate:
    """The statistic of merged sums: ``metric(point)`` and a percentile interval over the
    resample sums; ``interval_label`` names the resampling in ``Estimate.method``."""
    check_confidence(confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(record.metric(record.point))
        replicates = np.asarray(record.metric(record.boot), dtype=np.float64)
    low, high = percentile_interval(replicates, confidence)
    return Estimate(
        value, low, high, bootstrap_se(replicates), record.n_items, record.n_pairs,
        f"{record.name}; {interval_label}",
    )  # fmt: skip


def check_bootstrap_args(n_boot: int, rng: np.random.Generator | Resampler | None) -> None:
    """Raise unless ``n_boot >= 0`` and a Generator (or a Resampler with as many resamples)
    is given whenever ``n_boot > 0``."""
    if not isinstance(n_boot, (int, np.integer)) or isinstance(n_boot, bool) or n_boot < 0:
        raise ValueError(f"n_boot must be a non-negative integer, got {n_boot!r}")
    if n_boot > 0 and isinstance(rng, Resampler):
        if rng.n_boot != n_boot:
            raise ValueError(f"the Resampler holds {rng.n_boot} resamples, n_boot is {n_boot}")
        return
    if n_boot > 0 and not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator when n_boot > 0")


def cluster_ids(clusters: npt.ArrayLike | None, n_targets: int) -> tuple[np.ndarray, int]:
    """Map arbitrary cluster labels to ``0..n_clusters-1``.

    Parameters
    ----------
    clusters : array_like, shape (n_targets,), or None
        Cluster label of each target (e.g. the solution a step belongs to). None makes every
        target its own cluster.
    n_targets : int

    Returns
    -------
    ids : ndarray of intp, shape (n_targets,)
    n_clusters : int
    """
    if clusters is None:
        return np.arange(n_targets), n_targets
    labels = np.asarray(clusters)
    if labels.ndim != 1 or labels.shape[0] != n_targets:
        raise ValueError(f"clusters must have shape ({n_targets},), got {labels.shape}")
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        raise ValueError("clusters must not contain NaN")
    uniques, ids = np.unique(labels, return_inverse=True)
    return ids.reshape(-1), int(uniques.shape[0])


def sum_by_cluster(stats: np.ndarray, ids: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum per-target statistics within clusters.

    Parameters
    ----------
    stats : ndarray, shape (n_targets, n_stats)
    ids : ndarray of int, shape (n_targets,)
        Cluster index of each target, in ``0..n_clusters-1``.
    n_clusters : int

    Returns
    -------
    ndarray of float64, shape (n_clusters, n_stats)
    """
    n_targets = stats.shape[0]
    if n_clusters == n_targets and np.array_equal(ids, np.arange(n_targets)):
        return np.asarray(stats, dtype=np.float64)
    members = scipy.sparse.csr_array(
        (np.ones(n_targets), (ids, np.arange(n_targets))), shape=(n_clusters, n_targets)
    )
    return np.asarray(members @ np.asarray(stats, dtype=np.float64))


def resample_counts(n_clusters: int, n_boot: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Yield, chunk by chunk, how often each cluster is drawn in each bootstrap resample.

    Each resample draws ``n_clusters`` clusters uniformly with replacement, so every row sums
    to ``n_clusters``. Chunks depend only on ``n_clusters`` and ``n_boot``, so a seeded
    Generator reproduces the same resamples.

    Parameters
    ----------
    n_clusters : int
    n_boot : int
    rng : numpy.random.Generator

    Yields
    ------
    ndarray of float64, shape (chunk, n_clusters)
        Consecutive blocks of resamples; the chunks together have ``n_boot`` rows.
    """
    chunk = max(1, min(n_boot, _MAX_CELLS_PER_CHUNK // max(n_clusters, 1)))
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        draws = rng.integers(0, n_clusters, size=(rows, n_clusters), dtype=np.int32)
        # Offsetting each row's draws lets one bincount count all rows at once.
        draws += (np.arange(rows, dtype=np.int32) * n_clusters)[:, None]
        counts = np.bincount(draws.ravel(), minlength=rows * n_clusters)
        yield counts.reshape(rows, n_clusters).astype(np.float64)


def bootstrap_sums(cluster_stats: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Sum cluster statistics over every bootstrap resample.

    Parameters
    ----------
    cluster_stats : ndarray, shape (n_clusters, n_stats)
    n_boot : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of float64, shape (n_boot, n_stats)
    """
    n_clusters, n_stats = cluster_stats.shape
    out = np.zeros((n_boot, n_stats))
    if n_clusters == 0:
        return out
    start = 0
    for counts in resample_counts(n_clusters, n_boot, rng):
        out[start : start + counts.shape[0]] = counts @ cluster_stats
        start += counts.shape[0]
    return out


def bootstrap_replicates(
    target_stats: np.ndarray,
    metric: SumsMetric,
    *,
    clusters: npt.ArrayLike | None,
    n_boot: int,
    rng: np.random.Generator | Resampler,
) -> np.ndarray:
    """Evaluate a sums-based metric on ``n_boot`` cluster-bootstrap resamples.

    Parameters
    ----------
    target_stats : ndarray, shape (n_targets, n_stats)
        Per-target sufficient statistics whose column sums determine the metric.
    metric : callable
        Maps sums of shape ``(..., n_stats)`` to metric values of shape ``(...)`` (or
        ``(..., n_metrics)`` for several metrics at once). It is called once, on all
        resamples together.
    clusters : array_like, shape (n_targets,), or None
        Cluster label of each target; None resamples targets independently.
    n_boot : int
    rng : numpy.random.Generator or Resampler
        A Resampler reuses resamples drawn once for several statistics.

    Returns
    -------
    ndarray, shape (n_boot,) or (n_boot, n_metrics)
    """
    sums = resample_sums(target_stats, clusters=clusters, n_boot=n_boot, rng=rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(metric(sums), dtype=np.float64)


def resample_sums(
    target_stats: np.ndarray,
    *,
    clusters: npt.ArrayLike | None,
    n_boot: int,
    rng: np.random.Generator | Resampler,
) -> np.ndarray:
    """The column sums of ``target_stats`` in each of ``n_boot`` cluster resamples, shape
    ``(n_boot, n_stats)``: what a statistic with several outputs (the gap to the ceiling, the
    earliest-error accuracies) finishes itself. A Resampler reuses its resamples."""
    if isinstance(rng, Resampler):
        if clusters is None:
            raise ValueError("a shared Resampler needs the cluster label of each target")
        return rng.sums(target_stats, clusters)
    ids, n_clusters = cluster_ids(clusters, target_stats.shape[0])
    return bootstrap_sums(sum_by_cluster(target_stats, ids, n_clusters), n_boot, rng)


def percentile_interval(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """Equal-tailed percentile interval of the finite bootstrap replicates.

    Replicates that are NaN (the metric was undefined on that resample, e.g. it held no
    pairs) are discarded; with no finite replicate the interval is (NaN, NaN).
    """
    check_confidence(confidence)
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return float(low), float(high)


def bootstrap_se(replicates: np.ndarray) -> float:
    """Standard deviation of the finite replicates (NaN with fewer than two)."""
    finite = replicates[np.isfinite(replicates)]
    return float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")


def bootstrap_label(n_boot: int, confidence: float) -> str:
    """Describe the percentile cluster bootstrap for an ``Estimate.method`` string."""
    return f"percentile cluster bootstrap (B={n_boot}, {100 * confidence:g}% CI)"


def estimate_from_stats(
    target_stats: np.ndarray,
    metric: SumsMetric,
    *,
    clusters: npt.ArrayLike | None,
    n_boot: int,
    rng: np.random.Generator | Resampler | None,
    confidence: float,
    n_items: int,
    n_pairs: int,
    name: str,
) -> Estimate:
    """Point estimate and, when ``n_boot > 0``, a percentile cluster-bootstrap interval.

    Parameters
    ----------
    target_stats : ndarray, shape (n_targets, n_stats)
    metric : callable
        Maps sums of shape ``(..., n_stats)`` to values of shape ``(...)``.
    clusters : array_like, shape (n_targets,), or None
    n_boot : int
        0 gives the point estimate with a NaN interval.
    rng : numpy.random.Generator or None
    confidence : float
    n_items, n_pairs : int
        Reported as-is in the result.
    name : str
        Estimator name, the first part of ``Estimate.method``.

    Returns
    -------
    Estimate
    """
    check_confidence(confidence)
    check_bootstrap_args(n_boot, rng)
    if n_boot > 0 and isinstance(rng, SumsRecorder):
        rec = rng.record(target_stats, metric, clusters, n_items, n_pairs, name)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = float(metric(rec.point))
        nan = float("nan")
        return Estimate(value, nan, nan, nan, n_items, n_pairs, f"{name}; recorded")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(metric(target_stats.sum(axis=0)))
    if n_boot == 0:
        nan = float("nan")
        return Estimate(value, nan, nan, nan, n_items, n_pairs, f"{name}; no interval")
    assert rng is not None  # narrowed by check_bootstrap_args
    replicates = bootstrap_replicates(
        target_stats, metric, clusters=clusters, n_boot=n_boot, rng=rng
    )
    low, high = percentile_interval(replicates, confidence)
    return Estimate(
        value,
        low,
        high,
        bootstrap_se(replicates),
        n_items,
        n_pairs,
        f"{name}; {bootstrap_label(n_boot, confidence)}",
    )
