"""The arrays the engine works on: a criterion's judgements, and one slice of them."""

from dataclasses import dataclass, field

import numpy as np

from analysis import stats


@dataclass
class Group:
    """The judgements of one rater group on a criterion's targets."""

    name: str
    kind: str  # "human" or "model"
    codes: np.ndarray  # (n_targets, n_raters) float, NaN = not judged
    inconsistent: np.ndarray | None = None  # (n_targets,) 1/0/NaN: verdict flipped on swap


@dataclass
class CriterionData:
    """One criterion's judgements as per-group code matrices over its targets."""

    name: str
    scale: str  # nominal | ordinal | interval | pairwise
    labels: list  # label of each code (for categorical scales)
    n_categories: int
    error_codes: list[int]
    target_item: np.ndarray  # (n_targets,) item index 0..n_items-1
    target_step: np.ndarray  # (n_targets,) step index, -1 for item-level targets
    item_meta: list[dict]  # (n_items,) meta of each item
    item_ref: list[str]  # (n_items,) external id of each item
    item_n_steps: np.ndarray  # (n_items,)
    groups: dict[str, Group] = field(default_factory=dict)
    # (n_items, 2) lengths of answers A and B in characters, NaN where unknown
    item_lengths: np.ndarray | None = None
    # Continuous scores (reward models, PRMs) per group: codes (n_targets, n_raters) hold
    # the scores, higher = more likely correct. Only criteria with error labels have them.
    score_groups: dict[str, Group] = field(default_factory=dict)

    @property
    def tie_code(self) -> int | None:
        return 2 if self.scale == "pairwise" else None

    @property
    def categorical(self) -> bool:
        return self.n_categories > 0

    def label(self, code: float) -> str:
        if self.categorical:
            return str(self.labels[int(code)])
        return f"{code:g}"


@dataclass(frozen=True)
class SliceArrays:
    """The targets of one slice: everything its statistics are computed from.

    ``groups`` hold the slice's rows only (``codes: (n_targets, n_raters)``); ``lengths``
    is ``(n_targets, 2)``, the answer lengths of each target's item, or None.
    """

    scale: str
    n_categories: int
    tie_code: int | None
    error_codes: tuple[int, ...]
    groups: dict[str, Group]
    target_item: np.ndarray  # (n_targets,)
    target_step: np.ndarray  # (n_targets,)
    lengths: np.ndarray | None
    score_groups: dict[str, Group] = field(default_factory=dict)
    held_out: np.ndarray | None = None  # (n_targets,) bool: the calibration's held-out half

    @classmethod
    def cut(
        cls, data: CriterionData, mask: np.ndarray, held_out: np.ndarray | None = None
    ) -> "SliceArrays":
        """The targets of `data` where `mask: (n_targets,) bool` is set; `held_out:
        (n_targets,)` marks the targets score judges are measured on."""
        groups = {
            name: Group(
                name,
                g.kind,
                g.codes[mask],
                None if g.inconsistent is None else g.inconsistent[mask],
            )
            for name, g in data.groups.items()
        }
        lengths = None
        if data.item_lengths is not None:
            lengths = data.item_lengths[data.target_item[mask]]
        return cls(
            scale=data.scale,
            n_categories=data.n_categories,
            tie_code=data.tie_code,
            error_codes=tuple(data.error_codes),
            groups=groups,
            target_item=data.target_item[mask],
            target_step=data.target_step[mask],
            lengths=lengths,
            score_groups={
                name: Group(name, g.kind, g.codes[mask]) for name, g in data.score_groups.items()
            },
            held_out=None if held_out is None else held_out[mask],
        )

    @property
    def categorical(self) -> bool:
        return self.n_categories > 0

    @property
    def n_items(self) -> int:
        return len(np.unique(self.target_item))


@dataclass(frozen=True)
class Bootstrap:
    """How a slice's intervals are computed: one shared set of cluster resamples.

    ``clusters: (n_targets,)`` are the targets' items; ``resampler`` is None when
    ``n_boot == 0`` (analytic intervals).
    """

    clusters: np.ndarray
    n_boot: int
    resampler: stats.Resampler | None

    @classmethod
    def draw(cls, clusters: np.ndarray, n_boot: int, rng: np.random.Generator) -> "Bootstrap":
        # One set of resamples for every statistic of the slice (see stats.Resampler).
        resampler = stats.Resampler.draw(clusters, n_boot, rng) if n_boot > 0 else None
        return cls(clusters, n_boot, resampler)

    def kwargs(self) -> dict[str, object]:
        """The keyword arguments every statistic takes for its interval."""
        return {"clusters": self.clusters, "n_boot": self.n_boot, "rng": self.resampler}
