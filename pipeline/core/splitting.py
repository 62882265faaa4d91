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


# One-hot encoding a column with more distinct values than this makes a feature per row
# (an identifier or free text): such a column is refused by name instead.
MAX_CATEGORIES = 50


@dataclass(frozen=True)
class Columns:
    """The feature columns as prepare settles them, and what it did to the others."""

    features: list[str]  # numeric features, in table order; one-hot columns as `name=value`
    one_hot: dict[str, list[str]]  # text column -> its categories, in feature order
    dropped: dict[str, str]  # column -> why (text, date, all empty)


def check_table(table: pd.DataFrame, target: str, source: str, non_numeric: str = "error") -> Columns:
    """Refuse a table the model cannot learn from; settle its feature columns.

    Text, date and all-empty columns are refused by name (`non_numeric: error`), dropped
    (`drop`), or, for text, one-hot encoded (`one_hot`; dates and empty columns dropped).
    """
    if table.empty or len(table.columns) == 0:
        raise DataError(f"{source}: the table is empty. Fix: point data.path at a table with rows.")
    duplicated = sorted({str(c) for c in table.columns[table.columns.duplicated()]})
    if duplicated:
        raise DataError(f"{source}: duplicate column name(s) {duplicated}. Fix: rename them.")
    if target not in table.columns:
        columns = ", ".join(map(str, table.columns[:20]))
        raise DataError(
            f"{source}: data.target {target!r} is not a column. Columns: {columns}. "
            "Fix: set data.target to the label column."
        )
    candidates = [str(c) for c in table.columns if c != target]
    if not candidates:
        raise DataError(f"{source}: no feature columns besides the target {target!r}.")
    kinds = {c: column_kind(table[c]) for c in candidates}
    unusable = {c: k for c, k in kinds.items() if k != "numeric"}
    if unusable and non_numeric == "error":
        listed = "; ".join(f"{c!r} ({k})" for c, k in unusable.items())
        raise DataError(
            f"{source}: feature column(s) that are not numbers: {listed}. Fix: set "
            "data.non_numeric to drop (or one_hot for text columns), or remove them from the table."
        )
    one_hot: dict[str, list[str]] = {}
    if non_numeric == "one_hot":
        for column in [c for c, k in unusable.items() if k == "text"]:
            categories = sorted(table[column].dropna().astype(str).unique())
            if len(categories) > MAX_CATEGORIES:
                raise DataError(
                    f"{source}: text column {column!r} has {len(categories)} distinct values, too "
                    f"many to one-hot encode (at most {MAX_CATEGORIES}). Fix: drop it from the table."
                )
            one_hot[column] = categories
    dropped = {c: k for c, k in unusable.items() if c not in one_hot}
    features: list[str] = []
    for column in candidates:
        if kinds[column] == "numeric":
            features.append(column)
        elif column in one_hot:
            features.extend(f"{column}={value}" for value in one_hot[column])
    if not features:
        raise DataError(f"{source}: no numeric feature columns remain (dropped {sorted(dropped)}).")
    numeric = [c for c in candidates if kinds[c] == "numeric"]
    values = table[numeric].to_numpy(dtype="float64")
    finite = np.isfinite(values)
    bad = [c for c, ok in zip(numeric, finite.all(axis=0)) if not ok]
    if bad:
        first_row = int(np.flatnonzero(~finite.all(axis=1))[0])
        raise DataError(
            f"{source}: feature column(s) {bad} contain empty, NaN or infinite values (first in "
            f"data row {first_row + 1}). Fix: impute or drop those rows before training."
        )
    huge = [c for c, m in zip(numeric, np.abs(values).max(axis=0)) if m > 3.4e38]
    if huge:
        raise DataError(f"{source}: feature column(s) {huge} exceed the float32 range. Fix: rescale them.")
    missing = int(table[target].isna().sum())
    if missing:
        raise DataError(
            f"{source}: target column {target!r} has {missing} empty value(s). "
            "Fix: drop the unlabelled rows."
        )
    return Columns(features=features, one_hot=one_hot, dropped=dropped)


def column_kind(column: pd.Series) -> str:
    """numeric, text, date or all empty: what prepare may do with a column."""
    if column.isna().all():
        return "all empty"
    if pd.api.types.is_datetime64_any_dtype(column):
        return "date"
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        return "text"
    return "numeric"


def feature_frame(table: pd.DataFrame, columns: Columns) -> pd.DataFrame:
    """The model's input columns: numeric ones as they are, one-hot ones as 0/1 indicators."""
    parts = {}
    for feature in columns.features:
        column, _, value = feature.partition("=")
        if feature in table.columns or column not in columns.one_hot:
            parts[feature] = table[feature]
        else:
            parts[feature] = (table[column].astype(str) == value).astype("float64")
    return pd.DataFrame(parts, index=table.index)


def strata(target: pd.Series, task: str, labels: list) -> np.ndarray:
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
