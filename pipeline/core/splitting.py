"""Checks on the raw table and the stratified train / validation / holdout split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.core.errors import DataError

SPLITS = ("train", "val", "holdout")


@dataclass(frozen=True)
class SplitIndices:
    train: np.ndarray
    val: np.ndarray
    holdout: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {name: int(len(getattr(self, name))) for name in SPLITS}


def check_table(table: pd.DataFrame, target: str, source: str) -> list[str]:
    """Refuse a table the model cannot learn from; return the feature columns."""
    if table.empty or len(table.columns) == 0:
        raise DataError(f"{source}: the table is empty. Fix: point data.path at a table with rows.")
    if target not in table.columns:
        columns = ", ".join(map(str, table.columns[:20]))
        raise DataError(
            f"{source}: data.target {target!r} is not a column. Columns: {columns}. "
            "Fix: set data.target to the label column."
        )
    features = [str(c) for c in table.columns if c != target]
    if not features:
        raise DataError(f"{source}: no feature columns besides the target {target!r}.")
    non_numeric = [c for c in features if not pd.api.types.is_numeric_dtype(table[c])
                   or pd.api.types.is_bool_dtype(table[c])]
    if non_numeric:
        raise DataError(
            f"{source}: non-numeric feature column(s) {non_numeric}. Fix: encode them as "
            "numbers or drop them from the table."
        )
    values = table[features].to_numpy(dtype="float64")
    bad = [c for c, ok in zip(features, np.isfinite(values).all(axis=0)) if not ok]
    if bad:
        raise DataError(
            f"{source}: feature column(s) {bad} contain empty, NaN or infinite values. "
            "Fix: impute or drop those rows before training."
        )
    missing = int(table[target].isna().sum())
    if missing:
        raise DataError(
            f"{source}: target column {target!r} has {missing} empty value(s). "
            "Fix: drop the unlabelled rows."
        )
    return features


def class_labels(target: pd.Series) -> list:
    """Sorted distinct labels as plain Python values; their position is the class index."""
    return [v.item() if hasattr(v, "item") else v for v in sorted(target.unique())]


def encode_labels(target: pd.Series | np.ndarray, labels: list) -> np.ndarray:
    """Original labels -> class indices, in the order `class_labels` returned."""
    index = {label: i for i, label in enumerate(labels)}
    values = target.tolist() if hasattr(target, "tolist") else list(target)
    try:
        return np.array([index[v] for v in values], dtype="int64")
    except KeyError as exc:
        raise DataError(f"label {exc.args[0]!r} is not one of the known classes {labels}.") from None


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
        parts["val"].append(rows[n_holdout:n_holdout + n_val])
        parts["train"].append(rows[n_holdout + n_val:])
    return SplitIndices(**{name: np.sort(np.concatenate(p)) for name, p in parts.items()})
