"""The raw table's columns: what each one holds, what the model makes of it, and which rows stay.

Prepare reads a table of any size in batches, so nothing here needs the whole table at once.
`TableScan` keeps, per column, a `ColumnSeen` of fixed size (its type, missing cells, a
bounded set of distinct values, whether its integers only ever grow, its largest magnitude)
plus the target column, which the split needs. From that, `decide_kinds` (pure, no I/O)
decides each column's kind with the reason a user reads in `schema.json`, and
`rows_to_keep` applies `data.missing`.

Only two things grow with the rows: the target column (the stratified split needs it, as
before) and, with `data.missing: drop` only, the indices of the rows a value is missing from
(8 bytes per missing cell).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.core.contract import BOOLEAN, CATEGORICAL, DROPPED, NUMERIC
from pipeline.core.errors import DataError
from pipeline.core.rows import category_text, fits_float32
from pipeline.core.schema import Column

# A column's values as the reader typed them (before any decision).
NUMBER, BOOL, TEXT, DATE, EMPTY = "number", "boolean", "text", "date", "all empty"
MISSING_POLICIES = ("impute", "drop", "refuse")

# Distinct values counted exactly up to max(data.max_categories + 1, this); beyond that a
# column records "more than" (a Python set of 100,000 values is a few MB per column).
COUNTED_DISTINCT = 100_000
# Real numbers (not all whole) are counted up to here only: no decision needs more.
REAL_DISTINCT = 1000
# A text column whose values are numbers but for a few is probably a number column with a
# typo: its reason says so. Non-numbers are looked for until this many are found.
TYPO_LOOKOUT = 100
# Unique integers are an identifier, not a quantity, when all-distinct values could not be
# chance: n distinct values drawn from a range of R integers happens with probability at most
# about exp(-n² / 2R) (uniform draws collide least); below this probability it is not chance.
CHANCE = 1e-6
ID_NAME = re.compile(r"(^|[^a-z])(id|ids|key|uuid|guid|index|idx)$", re.IGNORECASE)
CAMEL_ID = re.compile(r"[a-z0-9](Id|ID)$")  # PassengerId, customerID (not paid, valid)


def empty_table(source: str) -> DataError:
    return DataError(f"{source}: the table is empty. Fix: point data.path at a table with rows.")


def value_kind(column: pd.Series) -> str:
    """number, boolean, text, date or all empty: what the values of one batch are."""
    if pd.api.types.is_bool_dtype(column):
        return BOOL
    if pd.api.types.is_datetime64_any_dtype(column):
        return DATE
    if pd.api.types.is_numeric_dtype(column):
        return EMPTY if column.isna().all() else NUMBER
    present = column.dropna()
    if present.empty:
        return EMPTY
    inferred = pd.api.types.infer_dtype(present, skipna=True)
    if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
        return NUMBER  # numbers with nulls held as objects (a frame built in memory, decimals)
    if inferred == "boolean":  # booleans with nulls arrive as objects
        return BOOL
    if inferred in ("datetime", "datetime64", "date"):
        return DATE
    if inferred == "string" and (present == "").all():
        return EMPTY
    return TEXT


def merged_kind(before: str, now: str) -> str:
    """A column's kind over the batches so far: empty batches say nothing, a mix is text."""
    if before == EMPTY or before == now:
        return now
    return before if now == EMPTY else TEXT


@dataclass
class ColumnSeen:
    """What one pass learns of one column, in memory that does not grow with the rows
    (but for `missing_rows`, recorded only when asked)."""

    kind: str = EMPTY
    missing: int = 0  # null, NaN, "" and (numbers) ±inf
    first_missing: int | None = None  # its first row (0-based, whole table)
    missing_rows: list[np.ndarray] = field(default_factory=list)
    values: set = field(default_factory=set)  # distinct present values, up to the cap + 1
    more_than: int | None = None  # set once the distinct values pass the cap
    unique: bool = True  # no present value repeats (exact up to the cap; then per batch)
    integral: bool = True  # every present number is a whole number
    monotonic: bool = True  # present integers strictly increasing (or decreasing) in row order
    direction: int = 0  # +1 increasing, -1 decreasing, 0 not known yet
    last: float | None = None
    smallest: float = math.inf
    biggest: float = -math.inf
    largest: float = 0.0  # largest finite magnitude
    non_numbers: int = 0  # text values that are not numbers (counted up to TYPO_LOOKOUT)
    first_non_number: tuple[str, int] | None = None  # (value, row)

    @property
    def distinct(self) -> int | None:
        """Exact count of distinct present values, None beyond the cap."""
        return None if self.more_than is not None else len(self.values)

    def distinct_text(self) -> str:
        return f"more than {self.more_than:,}" if self.more_than is not None else f"{len(self.values):,}"

    def rows_missing(self) -> np.ndarray:
        if not self.missing_rows:
            return np.empty(0, dtype="int64")
        return np.concatenate(self.missing_rows)


class TableScan:
    """What the decisions need to know of a whole table, gathered one batch at a time.

    `missing_rows`: also record the row of every missing cell (what `data.missing: drop`
    needs); otherwise only counts and the first such row are kept.
    """

    def __init__(
        self,
        header: list[str],
        target: str,
        source: str,
        *,
        max_categories: int = 1000,
        missing_rows: bool = False,
    ) -> None:
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
        self.cap = max(max_categories + 1, COUNTED_DISTINCT)
        self.record_rows = missing_rows
        self.rows = 0
        self._targets: list[np.ndarray] = []
        self._target_missing: list[np.ndarray] = []

    def add(self, batch: pd.DataFrame) -> None:
        for name, seen in self.seen.items():
            self._add_column(seen, batch[name])
        target = batch[self.target]
        # Copies: a view would keep the whole batch it came from (pyarrow's buffers) alive.
        self._targets.append(target.to_numpy(copy=True))
        self._target_missing.append(self.rows + np.flatnonzero(missing_mask(target)))
        self.rows += len(batch)

    def _add_column(self, seen: ColumnSeen, column: pd.Series) -> None:
        kind = value_kind(column)
        seen.kind = merged_kind(seen.kind, kind)
        if kind == NUMBER:
            values = column.to_numpy(dtype="float64", na_value=np.nan)
            missing = ~np.isfinite(values)
            present = values[~missing]
        else:
            missing = missing_mask(column).to_numpy()
            present = column.to_numpy(dtype=object)[~missing]
        where = np.flatnonzero(missing)
        if len(where):
            seen.missing += len(where)
            if seen.first_missing is None:
                seen.first_missing = self.rows + int(where[0])
            if self.record_rows:
                seen.missing_rows.append(self.rows + where)
        if len(present) == 0:
            return
        if kind == NUMBER:
            self._add_numbers(seen, present)
        else:
            seen.integral = seen.monotonic = False
            if kind == TEXT and seen.non_numbers < TYPO_LOOKOUT:
                self._look_for_numbers(seen, column, missing)
        # Real numbers need no long count (no decision hangs on it): a short one saves memory.
        cap = self.cap if kind != NUMBER or seen.integral else min(self.cap, REAL_DISTINCT)
        self._count_distinct(seen, pd.unique(present).tolist(), len(present), cap)

    @staticmethod
    def _count_distinct(seen: ColumnSeen, batch_values: list, present: int, cap: int) -> None:
        if len(batch_values) < present:
            seen.unique = False
        if seen.more_than is None and len(seen.values) > cap:  # the cap just shrank
            seen.values = set(list(seen.values)[: cap + 1])
            seen.more_than = cap
        if seen.more_than is not None:
            if seen.unique and not seen.values.isdisjoint(batch_values):
                seen.unique = False
            return
        before = len(seen.values)
        seen.values.update(batch_values[: cap + 1 - before])
        if seen.unique and len(seen.values) < before + min(len(batch_values), cap + 1 - before):
            seen.unique = False  # a value of this batch was seen in an earlier one
        if len(seen.values) > cap:
            seen.more_than = cap

    def _add_numbers(self, seen: ColumnSeen, present: np.ndarray) -> None:
        seen.largest = max(seen.largest, float(np.abs(present).max()))
        seen.smallest = min(seen.smallest, float(present.min()))
        seen.biggest = max(seen.biggest, float(present.max()))
        if seen.integral and not np.all(np.mod(present, 1) == 0):
            seen.integral = seen.monotonic = False
        if not seen.monotonic:
            return
        steps = np.diff(present if seen.last is None else np.concatenate([[seen.last], present]))
        for direction in (1, -1):
            if len(steps) and np.all(steps * direction > 0) and seen.direction in (0, direction):
                seen.direction = direction
                break
        else:
            if len(steps):
                seen.monotonic = False
        seen.last = float(present[-1])

    def _look_for_numbers(self, seen: ColumnSeen, column: pd.Series, missing: np.ndarray) -> None:
        present = column[~missing]
        other = pd.to_numeric(present, errors="coerce").isna().to_numpy()
        found = np.flatnonzero(other)
        seen.non_numbers += len(found)
        if len(found) and seen.first_non_number is None:
            row = self.rows + int(np.flatnonzero(~missing)[found[0]])
            seen.first_non_number = (str(present.iloc[found[0]]), row)

    # The target column -----------------------------------------------------------------------

    def target_column(self) -> pd.Series:
        """The whole target column, missing values included."""
        return pd.Series(np.concatenate(self._targets), name=self.target)

    def target_missing_rows(self) -> np.ndarray:
        return np.concatenate(self._target_missing) if self._target_missing else np.empty(0, "int64")


def missing_mask(column: pd.Series) -> pd.Series:
    """null, NaN and the empty string (for numbers, ±inf too) mean 'no value'."""
    mask = column.isna()
    if pd.api.types.is_float_dtype(column):
        return mask | np.isinf(column.to_numpy(dtype="float64", na_value=np.nan))
    if pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
        return mask | column.eq("").fillna(False).astype(bool)
    return mask


# Deciding the kinds ---------------------------------------------------------------------------


def looks_like_an_id(name: str) -> bool:
    """`id`, `user_id`, `PassengerId`, `row key`, `index`: not `paid` or `valid`."""
    return bool(ID_NAME.search(name.strip()) or CAMEL_ID.search(name.strip()))


def decide_kinds(
    seen: Mapping[str, ColumnSeen],
    rows: int,
    *,
    categorical: Iterable[str] = (),
    numeric: Iterable[str] = (),
    drop: Iterable[str] = (),
    max_categories: int = 1000,
    source: str = "the table",
) -> list[Column]:
    """Every column's kind (numeric, boolean, categorical or dropped) and why, in table order.

    Overrides (data.categorical / numeric / drop) win; a name that is not a column, or a
    non-number column listed as numeric, is refused. Otherwise, in this order, a column is
    dropped when it is all empty; constant (one value and never missing: a missing value next
    to one value still says something); a date (list it in data.categorical to use its values
    as categories); text that is unique per row (more than half the rows hold a value and no
    value repeats: an identifier or a name); integers unique per row that cannot be a quantity
    (see `integer_identifier`); text with more distinct values than `max_categories` (free
    text). Numbers stay numeric, integers too; booleans are boolean; other text is
    categorical. Refused when no feature remains.
    """
    categorical, numeric, drop = list(categorical), list(numeric), list(drop)
    lists = {"categorical": categorical, "numeric": numeric, "drop": drop}
    unknown = [
        f"data.{key} names {name!r}" for key, names in lists.items() for name in names if name not in seen
    ]
    if unknown:
        raise DataError(
            f"{source}: {'; '.join(unknown)}: not a feature column. Columns: {', '.join(seen)}. "
            "Fix: correct or remove those names."
        )
    not_numbers = {n: seen[n].kind for n in numeric if seen[n].kind not in (NUMBER, EMPTY)}
    if not_numbers:
        listed = ", ".join(f"{n!r} ({k})" for n, k in not_numbers.items())
        raise DataError(
            f"{source}: data.numeric lists column(s) that do not hold numbers: {listed}. Fix: remove "
            "them from data.numeric (text is used as categories), or make their values numbers in "
            "the table."
        )
    columns = []
    for name, column in seen.items():
        if name in drop:
            kind, reason = DROPPED, "listed in data.drop"
        elif name in categorical:
            kind, reason = CATEGORICAL, "listed in data.categorical"
        elif name in numeric:
            kind, reason = NUMERIC, "listed in data.numeric"
        else:
            kind, reason = natural_kind(name, column, rows, max_categories)
        columns.append(
            Column(name=name, kind=kind, reason=reason, missing=column.missing, distinct=column.distinct)
        )
    if all(c.kind == DROPPED for c in columns):
        listed = "; ".join(f"{c.name!r}: {c.reason}" for c in columns)
        raise DataError(
            f"{source}: no feature column remains. Dropped: {listed}. Fix: list the columns to use in "
            "data.categorical or data.numeric, or add feature columns to the table."
        )
    return columns


# A text column whose distinct values exceed this share of its filled rows is a name or free
# text (car models, titles), not categories a model can learn from; judged from this many rows.
MOSTLY_UNIQUE, MOSTLY_UNIQUE_ROWS = 0.5, 20


def natural_kind(name: str, seen: ColumnSeen, rows: int, max_categories: int) -> tuple[str, str]:
    """(kind, reason) of a column no override names."""
    present = rows - seen.missing
    distinct = seen.distinct_text()
    if seen.kind == EMPTY or present == 0:
        return DROPPED, "all empty"
    if seen.distinct == 1 and seen.missing == 0:
        return DROPPED, f"constant (every row holds {first_value(seen)})"
    if seen.kind == DATE:
        return DROPPED, "a date (list it in data.categorical to use its values as categories)"
    unique = seen.unique and present > rows / 2 and present > 1
    if seen.kind == TEXT:
        hint = typo_hint(seen, present)
        if unique:
            return DROPPED, f"unique per row (an identifier or a name: {distinct} distinct values){hint}"
        if seen.distinct is None or seen.distinct > max_categories:
            return DROPPED, (
                f"free text ({distinct} distinct values, more than data.max_categories = "
                f"{max_categories}){hint}"
            )
        if present >= MOSTLY_UNIQUE_ROWS and seen.distinct > present * MOSTLY_UNIQUE:
            # Most values occur once: nothing to learn per category, only noise to fit.
            return DROPPED, (
                f"mostly unique text (a name or free text: {distinct} distinct values in "
                f"{present:,} rows; list it in data.categorical to use it){hint}"
            )
        return CATEGORICAL, f"text with {distinct} distinct values{hint}"
    if seen.kind == BOOL:
        return BOOLEAN, "true/false values"
    if seen.integral and unique:
        why = integer_identifier(name, seen, present)
        if why:
            return DROPPED, why
    if seen.integral:
        return NUMERIC, f"integers ({distinct} distinct values; codes? list it in data.categorical)"
    return NUMERIC, f"numbers ({distinct} distinct values)"


def integer_identifier(name: str, seen: ColumnSeen, present: int) -> str | None:
    """Why integers that never repeat are an identifier, or None when they may be a quantity.

    A name that says so (`id`, `user_id`, `PassengerId`), values strictly increasing or
    decreasing in row order with no gap in the rows (a row number), or so many distinct values
    in so narrow a range that chance cannot explain it (probability below CHANCE).
    """
    if looks_like_an_id(name):
        return "unique per row (an identifier)"
    if seen.monotonic and seen.missing == 0 and present >= 3:
        order = "increasing" if seen.direction > 0 else "decreasing"
        return f"a row index (integers strictly {order} in row order)"
    span = seen.biggest - seen.smallest + 1
    if present * present / (2 * span) > -math.log(CHANCE):
        return (
            f"unique per row (an identifier: {present:,} distinct integers within a range of "
            f"{span:,.0f}, which chance would not give)"
        )
    return None


def first_value(seen: ColumnSeen) -> str:
    """The one value of a constant column as a user would write it: 3, 2.5, 'red', True."""
    value = next(iter(seen.values))
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    text = category_text(value)
    return text if isinstance(value, int | float | np.number) else repr(text)


def typo_hint(seen: ColumnSeen, present: int) -> str:
    """A text column that is numbers but for a few: say which value is not, and where."""
    if seen.first_non_number is None or seen.non_numbers >= TYPO_LOOKOUT:
        return ""
    numbers = present - seen.non_numbers
    if numbers < 0.9 * present:
        return ""
    value, row = seen.first_non_number
    return (
        f"; {numbers:,} of {present:,} values are numbers but {value!r} (data row {row + 1}) is "
        "not: if the column is numeric, fix that value in the table"
    )


# Missing values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeptRows:
    """The rows that go to the splits, and how many were left out, by reason."""

    rows: np.ndarray  # row indices (whole table, ascending)
    dropped: dict[str, int]  # missing_target, missing_values


def _first(seen: ColumnSeen) -> str:
    """Where a column's first missing value is, for a message; a column never scanned says nothing."""
    return "" if seen.first_missing is None else f", first in data row {seen.first_missing + 1}"


def rows_to_keep(scan: TableScan, columns: list[Column], policy: str) -> KeptRows:
    """Apply `data.missing` to the kept features; rows without a target always go.

    impute: every row with a target stays (the model fills the gaps). drop: rows missing a
    kept feature go too (the scan must have recorded the rows). refuse: any missing value in a
    kept feature is an error naming each column, its count and first row.
    """
    if policy not in MISSING_POLICIES:
        raise ValueError(f"unknown missing policy {policy!r}")
    features = [c for c in columns if c.kind != DROPPED and c.missing]
    no_target = scan.target_missing_rows()
    if policy == "refuse" and features:
        listed = ", ".join(f"{c.name!r} ({c.missing:,} missing{_first(scan.seen[c.name])})" for c in features)
        raise DataError(
            f"{scan.source}: feature column(s) with missing values (empty, NaN or infinite): {listed}. "
            "Fix: set data.missing to impute (the model fills them in) or drop (their rows are left "
            "out), or fill them in the table."
        )
    missing_values = np.empty(0, dtype="int64")
    if policy == "drop" and features:
        if not scan.record_rows:
            raise ValueError("data.missing = drop needs a scan that records missing rows")
        missing_values = np.unique(np.concatenate([scan.seen[c.name].rows_missing() for c in features]))
        missing_values = np.setdiff1d(missing_values, no_target, assume_unique=True)
    keep = np.ones(scan.rows, dtype=bool)
    keep[no_target] = False
    keep[missing_values] = False
    return KeptRows(
        np.flatnonzero(keep),
        {"missing_target": int(len(no_target)), "missing_values": int(len(missing_values))},
    )


def check_magnitudes(scan: TableScan, columns: list[Column]) -> None:
    """A number beyond float32 would become infinite inside the model: refused by name."""
    huge = [c.name for c in columns if c.kind == NUMERIC and not fits_float32(scan.seen[c.name].largest)]
    if huge:
        raise DataError(f"{scan.source}: column(s) {huge} exceed the float32 range. Fix: rescale them.")


@dataclass(frozen=True)
class Settled:
    columns: list[Column]  # every column but the target, table order
    kept: KeptRows


def settle(
    scan: TableScan,
    *,
    missing: str = "impute",
    categorical: Iterable[str] = (),
    numeric: Iterable[str] = (),
    drop: Iterable[str] = (),
    max_categories: int = 1000,
) -> Settled:
    """Everything decided about a scanned table's columns and rows, or the first refusal."""
    if scan.rows == 0:
        raise empty_table(scan.source)
    columns = decide_kinds(
        scan.seen,
        scan.rows,
        categorical=categorical,
        numeric=numeric,
        drop=drop,
        max_categories=max_categories,
        source=scan.source,
    )
    check_magnitudes(scan, columns)
    return Settled(columns, rows_to_keep(scan, columns, missing))


def check_table(table: pd.DataFrame, target: str, source: str = "the table", **decisions) -> Settled:
    """The scan and decisions on a table already in memory (tests, small tables)."""
    if len(table.columns) == 0:
        raise empty_table(source)
    scan = TableScan(
        [str(c) for c in table.columns],
        target,
        source,
        max_categories=decisions.get("max_categories", 1000),
        missing_rows=decisions.get("missing") == "drop",
    )
    scan.add(table)
    return settle(scan, **decisions)
