"""Checks on a frame of raw rows (pandas), by the contract's kinds, before the model sees it.

The MLflow model takes whatever DataFrame a consumer has: `pd.read_csv` of the training
table (integers as int64, booleans as bool, text as str), a frame built from JSON records
(None in any column), a parquet file. So kinds are checked here on the values, not on the
pandas dtype, with the service's own per-value checks (core/requests.py): a value the
service refuses in a JSON record is refused here too, and one it answers is answered the
same. Typed columns are checked at once (a float64 column holds numbers or NaN); object and
text columns value by value. NaN, None, pandas' NA and "" are missing in any column. Every
problem names the column, the row, the value and the kind expected. Pure: the caller turns a
`FrameError` into its own refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.contract import BOOLEAN, CATEGORICAL, NUMERIC, Contract
from pipeline.core.errors import PipelineError
from pipeline.core.postprocess import outputs, predict_labels, probabilities
from pipeline.core.requests import boolean, category, number
from pipeline.core.rows import finite_rows, fits_float32, is_missing
from pipeline.core.tasks import REGRESSION

MAX_PROBLEMS = 20  # enough to fix a frame; a flood of identical lines helps nobody


LABEL, VALUE, PROBABILITY_PREFIX = "label", "value", "p_"


class FrameError(PipelineError, ValueError):
    """Raw rows the model cannot take; `problems` lists each (up to MAX_PROBLEMS)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems[:MAX_PROBLEMS])
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")


def feature_columns(
    frame: pd.DataFrame, contract: Contract, unknown_allowed: bool = False
) -> dict[str, pd.Series]:
    """The model's feature columns of `frame`, checked, for `core.rows.model_inputs`:
    numbers as float64 (NaN = missing), categories and booleans as they came.

    Columns may come in any order. `contract.ignored` columns (the target, columns prepare
    dropped) are accepted and ignored; any other unknown column is refused unless
    `unknown_allowed`. Raises FrameError naming every missing column and wrong value.
    """
    problems: list[str] = []
    names = [str(c) for c in frame.columns]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"column {name!r} appears more than once; send it once")
    if not unknown_allowed:
        known = set(contract.names) | set(contract.ignored)
        for name in names:
            if name not in known:
                problems.append(
                    f"column {name!r} is unknown: the model takes {contract.names} "
                    f"(and ignores {sorted(contract.ignored)}); drop it"
                )
    columns = {}
    for feature in contract.features:
        if feature.name not in frame.columns:
            problems.append(
                f"column {feature.name!r} is missing: the model needs it ({feature.kind} "
                "feature; send null for a missing value, the column may not be left out)"
            )
            continue
        if names.count(feature.name) > 1:
            continue
        column, wrong = _checked(frame[feature.name], feature.kind)
        problems += [f"column {feature.name!r}, row {row}: {problem}" for row, problem in wrong]
        columns[feature.name] = column
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        raise FrameError(problems)
    return columns


def _checked(values: pd.Series, kind: str) -> tuple[pd.Series, list[tuple[int, str]]]:
    """(the column as the model takes it, the (row, problem) pairs of wrong values)."""
    typed_number = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if kind == NUMERIC and typed_number:
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        # NaN is missing; the service refuses what JSON cannot carry anyway: inf, beyond float32
        rows = np.flatnonzero(~np.isnan(numbers) & ~fits_float32(numbers))
        return (
            pd.Series(numbers, index=values.index, name=values.name),
            [
                (int(row), problem)
                for row in rows[:MAX_PROBLEMS]
                if (problem := number(float(numbers[row]))[1]) is not None
            ],
        )
    if kind == CATEGORICAL and not pd.api.types.is_object_dtype(values):
        return values, []  # text, numbers, booleans, dates: each has its category spelling
    if kind == BOOLEAN and pd.api.types.is_bool_dtype(values):
        return values, []
    check = {NUMERIC: number, BOOLEAN: boolean}.get(kind, _category)
    taken, wrong = [], []
    for row, value in enumerate(values.tolist()):
        value = None if is_missing(value) else value.item() if isinstance(value, np.generic) else value
        value, problem = check(value)
        taken.append(value)
        if problem is not None:
            wrong.append((row, problem))
            if len(wrong) >= MAX_PROBLEMS:
                break
    if wrong or kind != NUMERIC:
        return values, wrong
    return pd.Series(taken, index=values.index, name=values.name, dtype="float64"), []


def _category(value: Any) -> tuple[Any, str | None]:
    """The service's check, and dates too (a parquet or Spark frame may hold them)."""
    return (value, None) if isinstance(value, date) else category(value)


def answer_columns(contract: Contract) -> list[str]:
    """The columns of `answer_frame`: `label` and `p_<label>` per class, or `value`."""
    if contract.task == REGRESSION:
        return [VALUE]
    return [LABEL, *(f"{PROBABILITY_PREFIX}{label}" for label in contract.class_labels)]


def answer_frame(raw: np.ndarray, contract: Contract, index: pd.Index | None = None) -> pd.DataFrame:
    """The model's raw output as a frame, one row per input row: for classification the
    label (the contract's threshold applied, as the service does) and every class's
    probability; for regression the value. Raises FrameError naming rows whose output
    overflowed (inputs far outside anything trained on)."""
    raw = np.asarray(raw, dtype="float64")
    finite = finite_rows(raw)
    if not finite.all():
        raise FrameError(
            [
                f"row {row}: the model's output overflowed: its values are far outside the "
                "range the model was trained on; check their units"
                for row in np.flatnonzero(~finite)
            ]
        )
    names = answer_columns(contract)
    if contract.task == REGRESSION:
        return pd.DataFrame({VALUE: outputs(raw, contract.task)}, index=index)
    probs = probabilities(raw, contract.task)
    labels = predict_labels(probs, contract.class_labels, contract.threshold)
    columns: dict[str, Any] = {LABEL: labels}
    columns.update({name: probs[:, i] for i, name in enumerate(names[1:])})
    return pd.DataFrame(columns, index=index)
