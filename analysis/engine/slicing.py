"""The slices of a report: overall, each value of the chosen item meta keys, and bins of
step position and solution length."""

from collections.abc import Iterator

import numpy as np

from analysis.engine.data import CriterionData

STEP_POSITION_BINS = [(0, 0), (1, 1), (2, 2), (3, 4), (5, 7), (8, 11), (12, 10**9)]
SOLUTION_LENGTH_BINS = [(1, 3), (4, 6), (7, 10), (11, 15), (16, 10**9)]


def slices(data: CriterionData, keys: tuple[str, ...]) -> Iterator[tuple[str, str, np.ndarray]]:
    """(slice, value, target mask) for overall, each meta key's values and the step bins."""
    yield "all", "all", np.ones(len(data.target_item), dtype=bool)
    for key in keys:
        yield from _meta_slices(data, key)
    if (data.target_step >= 0).any():
        yield from _binned("step_position", data.target_step, STEP_POSITION_BINS)
    lengths = data.item_n_steps[data.target_item]
    if (lengths > 0).any():
        yield from _binned("solution_length", lengths, SOLUTION_LENGTH_BINS)


def n_slices(data: CriterionData, keys: tuple[str, ...]) -> int:
    return sum(1 for _ in slices(data, keys))


def _meta_slices(data: CriterionData, key: str) -> Iterator[tuple[str, str, np.ndarray]]:
    per_item = np.array([_meta_text(meta.get(key)) for meta in data.item_meta], dtype=object)
    values = per_item[data.target_item]
    for value in sorted({v for v in values if v is not None}, key=_natural):
        yield key, value, values == value


def _binned(
    name: str, values: np.ndarray, bins: list[tuple[int, int]]
) -> Iterator[tuple[str, str, np.ndarray]]:
    for low, high in bins:
        mask = (values >= low) & (values <= high)
        if mask.any():
            yield name, _bin_label(low, high), mask


def _bin_label(low: int, high: int) -> str:
    if low == high:
        return str(low)
    return f"{low}+" if high >= 10**9 else f"{low}-{high}"


def _meta_text(value: object) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def _natural(value: str) -> tuple:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)
