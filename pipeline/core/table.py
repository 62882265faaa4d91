"""Checks on the raw table, gathered one batch at a time.

Prepare reads a table of any size in batches, so nothing here needs the whole table at once:
`TableScan` keeps, per column, only what the checks need (its kind, the first bad row, the
largest magnitude, a bounded set of categories) and the target column, which the split needs.
`check_table` is the same scan over one frame that is already in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.core.errors import DataError

NUMERIC, TEXT, DATE, EMPTY = "numeric", "text", "date", "all empty"

# One-hot encoding a column with more distinct values than this makes a feature per row
# (an identifier or free text): such a column is refused by name instead.
MAX_CATEGORIES = 50
# Distinct values counted exactly up to here; beyond, the message says "more than".
COUNTED_CATEGORIES = 1000
FLOAT32_LIMIT = 3.4e38


@dataclass(frozen=True)
class Columns:
    """The feature columns as prepare settles them, and what it did to the others."""

    features: list[str]  # numeric features, in table order; one-hot columns as `name=value`
    one_hot: dict[str, list[str]]  # text column -> its categories, in feature order
    dropped: dict[str, str]  # column -> why (text, date, all empty)


def empty_table(source: str) -> DataError:
    return DataError(f"{source}: the table is empty. Fix: point data.path at a table with rows.")


def column_kind(column: pd.Series) -> str:
    """numeric, text, date or all empty: what prepare may do with a column."""
    if column.isna().all():
        return EMPTY
    if pd.api.types.is_datetime64_any_dtype(column):
        return DATE
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        return TEXT
    return NUMERIC


def merged_kind(before: str, now: str) -> str:
    """A column's kind over the batches so far: empty batches say nothing, a mix is text."""
    if before == EMPTY or before == now:
        return now
    return before if now == EMPTY else TEXT


@dataclass
class ColumnSeen:
    kind: str = EMPTY
    first_missing: int | None = None  # first row (0-based, whole table) empty, NaN or infinite
    largest: float = 0.0  # largest finite magnitude
    categories: set[str] = field(default_factory=set)  # text values, up to COUNTED_CATEGORIES + 1


class TableScan:
    """What the checks need to know of a whole table, gathered one batch at a time."""

    def __init__(self, header: list[str], target: str, source: str) -> None:
        self.source, self.target = source, target
        duplicated = sorted({str(c) for c in pd.Index(header)[pd.Index(header).duplicated()]})
        if duplicated:
            raise DataError(f"{source}: duplicate column name(s) {duplicated}. Fix: rename them.")
        if target not in header:
            columns = ", ".join(map(str, header[:20]))
            raise DataError(
                f"{source}: data.target {target!r} is not a column. Columns: {columns}. "
                "Fix: set data.target to the label column."
            )
        self.seen = {str(c): ColumnSeen() for c in header if c != target}
        if not self.seen:
            raise DataError(f"{source}: no feature columns besides the target {target!r}.")
        self.rows = 0
        self.missing_targets = 0
        self._targets: list[np.ndarray] = []

    def add(self, batch: pd.DataFrame) -> None:
        for name, seen in self.seen.items():
            column = batch[name]
            kind = column_kind(column)
            seen.kind = merged_kind(seen.kind, kind)
            if kind == NUMERIC:
                values = column.to_numpy(dtype="float64")
                finite = np.isfinite(values)
                if not finite.all() and seen.first_missing is None:
                    seen.first_missing = self.rows + int(np.flatnonzero(~finite)[0])
                if finite.any():
                    seen.largest = max(seen.largest, float(np.abs(values[finite]).max()))
            elif kind == EMPTY and seen.first_missing is None and len(column):
                seen.first_missing = self.rows
            elif kind == TEXT and len(seen.categories) <= COUNTED_CATEGORIES:
                seen.categories.update(column.dropna().astype(str).unique()[:COUNTED_CATEGORIES + 1])
        target = batch[self.target]
        self.missing_targets += int(target.isna().sum())
        # A copy: a view would keep the whole batch it came from (pyarrow's buffers) alive.
        self._targets.append(target.to_numpy(copy=True))
        self.rows += len(batch)

    def target_column(self) -> pd.Series:
        """The whole target column: what task detection and the stratified split need."""
        return pd.Series(np.concatenate(self._targets), name=self.target)

    def settle(self, non_numeric: str = "error") -> Columns:
        """Refuse a table the model cannot learn from; settle its feature columns.

        Text, date and all-empty columns are refused by name (`non_numeric: error`), dropped
        (`drop`), or, for text, one-hot encoded (`one_hot`; dates and empty columns dropped).
        """
        source = self.source
        if self.rows == 0:
            raise empty_table(source)
        unusable = {c: s.kind for c, s in self.seen.items() if s.kind != NUMERIC}
        if unusable and non_numeric == "error":
            listed = "; ".join(f"{c!r} ({k})" for c, k in unusable.items())
            raise DataError(
                f"{source}: feature column(s) that are not numbers: {listed}. Fix: set "
                "data.non_numeric to drop (or one_hot for text columns), or remove them from the table."
            )
        one_hot: dict[str, list[str]] = {}
        if non_numeric == "one_hot":
            for column in [c for c, k in unusable.items() if k == TEXT]:
                categories = sorted(self.seen[column].categories)
                if len(categories) > MAX_CATEGORIES:
                    count = (f"more than {COUNTED_CATEGORIES}" if len(categories) > COUNTED_CATEGORIES
                             else str(len(categories)))
                    raise DataError(
                        f"{source}: text column {column!r} has {count} distinct values, too many "
                        f"to one-hot encode (at most {MAX_CATEGORIES}). Fix: drop it from the table."
                    )
                one_hot[column] = categories
        dropped = {c: k for c, k in unusable.items() if c not in one_hot}
        features: list[str] = []
        for column, seen in self.seen.items():
            if seen.kind == NUMERIC:
                features.append(column)
            elif column in one_hot:
                features.extend(f"{column}={value}" for value in one_hot[column])
        if not features:
            raise DataError(f"{source}: no numeric feature columns remain (dropped {sorted(dropped)}).")
        numeric = {c: s for c, s in self.seen.items() if s.kind == NUMERIC}
        bad = [c for c, s in numeric.items() if s.first_missing is not None]
        if bad:
            first_row = min(numeric[c].first_missing for c in bad)
            raise DataError(
                f"{source}: feature column(s) {bad} contain empty, NaN or infinite values (first in "
                f"data row {first_row + 1}). Fix: impute or drop those rows before training."
            )
        huge = [c for c, s in numeric.items() if s.largest > FLOAT32_LIMIT]
        if huge:
            raise DataError(f"{source}: feature column(s) {huge} exceed the float32 range. "
                            "Fix: rescale them.")
        if self.missing_targets:
            raise DataError(
                f"{source}: target column {self.target!r} has {self.missing_targets} empty value(s). "
                "Fix: drop the unlabelled rows."
            )
        return Columns(features=features, one_hot=one_hot, dropped=dropped)


def check_table(table: pd.DataFrame, target: str, source: str, non_numeric: str = "error") -> Columns:
    """The checks of `TableScan` on a table already in memory."""
    if len(table.columns) == 0:
        raise empty_table(source)
    scan = TableScan([str(c) for c in table.columns], target, source)
    scan.add(table)
    return scan.settle(non_numeric)
