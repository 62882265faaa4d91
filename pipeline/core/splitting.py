"""The stratified train / validation / holdout split of the rows prepare keeps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.core.errors import DataError
from pipeline.core.tasks import Task

SPLITS = ("train", "val", "holdout")


@dataclass(frozen=True)
class SplitIndices:
    train: np.ndarray
    val: np.ndarray
    holdout: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {name: int(len(getattr(self, name))) for name in SPLITS}

    def assignment(self, rows: int) -> np.ndarray:
        """Each row's split as its position in SPLITS: what a batch-by-batch writer needs."""
        which = np.full(rows, -1, dtype="int8")
        for code, name in enumerate(SPLITS):
            which[getattr(self, name)] = code
        return which


def strata(target: pd.Series, task: Task, labels: list) -> np.ndarray:
    """What to stratify on: the class index, or (regression) the target's quantile bin.

    Binning keeps the whole range of a continuous target in every split.
    """
    if task != "regression":
        return encode_labels(target, labels)
    values = target.to_numpy(dtype="float64")
    bins = max(1, min(5, len(values) // 10))
    edges = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    return np.digitize(values, edges)


def class_labels(target: pd.Series) -> list:
    """Sorted distinct labels as plain Python values; their position is the class index."""
    return [v.item() if hasattr(v, "item") else v for v in sorted(target.unique())]


def encode_labels(target: pd.Series | np.ndarray | list, labels: list) -> np.ndarray:
    """Original labels -> class indices, in the order `class_labels` returned (vectorised:
    a million labels take milliseconds and no Python object per row)."""
    values = pd.Series(target)
    codes = pd.Categorical(values, categories=labels).codes.astype("int64")
    unknown = np.flatnonzero(codes < 0)
    if len(unknown):
        label = values.iloc[unknown[0]]
        label = label.item() if hasattr(label, "item") else label
        raise DataError(f"label {label!r} is not one of the known classes {labels}.")
    return codes


def stratified_split(
    y: np.ndarray, val_size: float, holdout_size: float, seed: int, labels: list | None = None
) -> SplitIndices:
    """Split row indices so each class keeps its share in every split.

    Per class, `round(n * size)` rows (at least one) go to holdout and to validation; the
    rest train. A class with fewer than three rows cannot appear in all three splits and is
    refused rather than silently missing from one. `labels` (index -> original label) only
    makes that message speak the user's language.
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SPLITS}
    for index in np.unique(y):
        rows = np.flatnonzero(y == index)
        rng.shuffle(rows)
        n_holdout = max(1, round(len(rows) * holdout_size))
        n_val = max(1, round(len(rows) * val_size))
        if len(rows) - n_holdout - n_val < 1:
            name = labels[index] if labels else int(index)
            raise DataError(
                f"class {name!r} has only {len(rows)} row(s): too few to stratify into "
                "train, validation and holdout. Fix: add rows of that class, merge it with "
                "another, or lower prepare.val_size / prepare.holdout_size."
            )
        parts["holdout"].append(rows[:n_holdout])
        parts["val"].append(rows[n_holdout : n_holdout + n_val])
        parts["train"].append(rows[n_holdout + n_val :])
    return SplitIndices(**{name: np.sort(np.concatenate(p)) for name, p in parts.items()})
