"""The configuration of an agreement run, validated in one place.

The web form, the API, the management command and the service all build a `RunConfig`
through `RunConfig.from_input`; the engine reads it; a run stores `as_dict()` and the task
reads it back with `from_input`. No Django here (the engine uses it).
"""

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from annotations.errors import DomainError

MAX_BOOT = 20_000


class RunConfigError(DomainError):
    """A bad run setting; `field` names it, so a form or an API can point at it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class RunConfig:
    """What a report computes.

    criteria: names of the criteria to report on (empty: all); slice_keys: item meta keys to
    slice by; reference_group: the human group judges are compared with (None: `expert`, else
    the largest human group); n_boot: bootstrap resamples (0: analytic intervals); seed: of
    the resampling; min_slice_items: slices with fewer items are flagged small; epsilon: the
    alternative annotator test's cost-benefit margin, in [0, 1] (Calderon et al. 2025 suggest
    0.2 for experts, 0.15 for skilled annotators, 0.1 for crowd workers); group_epsilons:
    (human group, epsilon) pairs that override it for a group, sorted by group; chunk_items:
    0 computes the report in one task, N > 0 streams it in chunks of N items over the workers
    (the statistics of `analysis.engine.streamed` only, with a Poisson bootstrap; needs
    n_boot >= 1).
    """

    criteria: tuple[str, ...] = ()
    slice_keys: tuple[str, ...] = ()
    reference_group: str | None = None
    n_boot: int = 1000
    seed: int = 0
    min_slice_items: int = 30
    epsilon: float = 0.2
    group_epsilons: tuple[tuple[str, float], ...] = ()
    chunk_items: int = 0

    def __post_init__(self) -> None:
        _check_int("n_boot", self.n_boot, f"Bootstrap resamples must be between 0 and {MAX_BOOT}.")
        if self.n_boot > MAX_BOOT:
            raise RunConfigError("n_boot", f"Bootstrap resamples must be between 0 and {MAX_BOOT}.")
        _check_int("seed", self.seed, "The seed must not be negative.")
        _check_int(
            "min_slice_items", self.min_slice_items, "The small-slice size must not be negative."
        )
        for name in ("criteria", "slice_keys"):
            values = getattr(self, name)
            if not isinstance(values, tuple) or not all(isinstance(v, str) for v in values):
                raise RunConfigError(name, f"{name} must be a tuple of names.")
        _check_epsilon("epsilon", self.epsilon)
        pairs = self.group_epsilons
        if not isinstance(pairs, tuple) or not all(
            isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) and p[0] for p in pairs
        ):
            raise RunConfigError("group_epsilons", "group_epsilons must be (group, epsilon) pairs.")
        for _, value in pairs:
            _check_epsilon("group_epsilons", value)
        if len({group for group, _ in pairs}) != len(pairs):
            raise RunConfigError("group_epsilons", "Each group may have one epsilon only.")
        _check_int("chunk_items", self.chunk_items, "Items per chunk must not be negative.")
        if self.chunk_items > 0 and self.n_boot == 0:
            raise RunConfigError(
                "chunk_items", "A report in chunks needs bootstrap resamples (n_boot >= 1)."
            )

    def epsilon_for(self, group: str) -> float:
        """The alternative annotator test's epsilon for a human group."""
        return dict(self.group_epsilons).get(group, self.epsilon)

    @classmethod
    def from_input(cls, data: Mapping[str, object]) -> "RunConfig":
        """A config from loosely typed input (form, JSON, CLI, a stored run); absent or None
        settings take their defaults. Raises RunConfigError naming the bad setting."""
        given = {key: value for key, value in data.items() if value is not None}
        defaults = cls()
        return cls(
            criteria=_names(given.get("criteria", ()), strip=False),
            slice_keys=_names(given.get("slice_keys", ()), strip=True),
            reference_group=str(given.get("reference_group") or "") or None,
            n_boot=_as_int("n_boot", given.get("n_boot", defaults.n_boot)),
            seed=_as_int("seed", given.get("seed", defaults.seed)),
            min_slice_items=_as_int(
                "min_slice_items", given.get("min_slice_items", defaults.min_slice_items)
            ),
            epsilon=_as_epsilon("epsilon", given.get("epsilon", defaults.epsilon)),
            group_epsilons=_group_epsilons(given.get("group_epsilons", ())),
            chunk_items=_as_int("chunk_items", given.get("chunk_items", defaults.chunk_items)),
        )

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, as stored in `AgreementRun.config`."""
        data = asdict(self)
        return data | {
            "criteria": list(self.criteria),
            "slice_keys": list(self.slice_keys),
            "group_epsilons": dict(self.group_epsilons),
        }


def _check_int(field: str, value: object, message: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RunConfigError(field, message)


def _as_int(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RunConfigError(field, f"{field} must be a whole number.")
    try:
        return int(value)
    except ValueError:
        raise RunConfigError(field, f"{field} must be a whole number.") from None


def _names(values: object, *, strip: bool) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, list | tuple):
        raise RunConfigError("criteria" if not strip else "slice_keys", "Expected a list of names.")
    names = (str(v).strip() if strip else str(v) for v in values)
    return tuple(name for name in names if name or not strip)


def _check_epsilon(field: str, value: object) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and 0.0 <= value <= 1.0):
        raise RunConfigError(field, "Epsilon must be a number from 0 to 1.")


def _as_epsilon(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RunConfigError(field, "Epsilon must be a number from 0 to 1.")
    try:
        number = float(value)
    except ValueError:
        raise RunConfigError(field, "Epsilon must be a number from 0 to 1.") from None
    _check_epsilon(field, number)
    return number


def _group_epsilons(values: object) -> tuple[tuple[str, float], ...]:
    """(group, epsilon) pairs, sorted, from a mapping, pairs, or "group=epsilon" texts."""
    if isinstance(values, Mapping):
        items = list(values.items())
    elif isinstance(values, list | tuple):
        items = [_epsilon_pair(v) for v in values]
    else:
        raise RunConfigError("group_epsilons", "Expected group=epsilon settings.")
    pairs: dict[str, float] = {}
    for group, value in items:
        name = str(group).strip()
        if not name or name in pairs:
            raise RunConfigError("group_epsilons", f"Give one epsilon per group ({name!r}).")
        pairs[name] = _as_epsilon("group_epsilons", value)
    return tuple(sorted(pairs.items()))


def _epsilon_pair(value: object) -> tuple[object, object]:
    if isinstance(value, str) and "=" in value:
        group, _, number = value.rpartition("=")
        return group, number
    if isinstance(value, list | tuple) and len(value) == 2:
        return value[0], value[1]
    raise RunConfigError("group_epsilons", f"Expected group=epsilon, got {value!r}.")
