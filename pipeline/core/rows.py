"""Raw rows -> the model's inputs: one array per column, typed by the column's kind.

Every path that feeds the model comes through here (training from the prepared splits,
evaluate, the service, batch scoring, the MLflow model), so a value means the same thing
everywhere: a number is float32 with NaN for missing (the model imputes it); a category is
text in one canonical spelling ("" for missing; the model looks it up). No encoding happens
here: the model carries it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, overload

import numpy as np
import pandas as pd

from pipeline.core.contract import MISSING, FeatureSpec

FLOAT32_MAX = float(np.finfo(np.float32).max)  # the largest number the model takes


@overload
def fits_float32(values: float) -> bool: ...
@overload
def fits_float32(values: np.ndarray) -> np.ndarray: ...


def fits_float32(values: float | np.ndarray) -> bool | np.ndarray:
    """Whether a number (or each of an array's) is one the model takes: finite and within
    float32's range. NaN, +-inf and anything beyond +-3.4e38 are not; neither is a JSON
    integer too large for a float, which Python compares exactly rather than overflowing."""
    if isinstance(values, np.ndarray):
        return np.abs(values) <= FLOAT32_MAX
    return abs(values) <= FLOAT32_MAX


def finite_rows(outputs: np.ndarray) -> np.ndarray:
    """Per row of a model's outputs, whether every value in it is finite (an input far outside
    what the model was trained on can overflow it to inf or NaN)."""
    outputs = np.asarray(outputs, dtype="float64")
    return np.isfinite(outputs).reshape(len(outputs), -1).all(axis=1)


def is_missing(value: Any) -> bool:
    """null, NaN, pandas' NA and the empty string all mean 'no value'."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating):
        return math.isnan(value)
    return isinstance(value, str) and value == ""


def category_text(value: Any) -> str:
    """The one spelling of a category: `True` -> "true", 3 and 3.0 -> "3", "a" -> "a".

    Prepare writes categories this way and every consumer looks them up this way, so a
    value typed as a number in a CSV and as text in a JSON request is the same category.
    """
    if is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, datetime | pd.Timestamp):
        stamp = pd.Timestamp(value)
        return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def category_column(values: pd.Series | Sequence[Any]) -> np.ndarray:
    """A column of categories in their canonical spelling, as an object array of str."""
    series = pd.Series(values)
    if isinstance(series.dtype, pd.CategoricalDtype):  # parquet dictionary columns
        series = series.astype(object)
    if pd.api.types.is_string_dtype(series) and not pd.api.types.is_object_dtype(series):
        return series.fillna(MISSING).to_numpy(dtype=object)
    return np.asarray([category_text(v) for v in series.to_numpy(dtype=object)], dtype=object)


def number_column(values: pd.Series | Sequence[Any]) -> np.ndarray:
    """A column of numbers as float32, NaN for missing (infinite values count as missing).

    The caller has checked that every value is a number or missing.
    """
    out = pd.to_numeric(pd.Series(values), errors="raise").to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isfinite(out), out, np.nan).astype("float32")


def model_inputs(columns: Mapping[str, Any], features: Sequence[FeatureSpec]) -> dict[str, np.ndarray]:
    """Named columns (a DataFrame, or a mapping of column -> values) -> the model's inputs,
    keyed by input name, each of shape (rows, 1)."""
    inputs = {}
    for feature in features:
        values = columns[feature.name]
        column = number_column(values) if feature.is_numeric else category_column(values)
        inputs[feature.input] = column.reshape(-1, 1)
    return inputs


def rows_of(inputs: Mapping[str, np.ndarray]) -> int:
    return len(next(iter(inputs.values())))


def take(inputs: Mapping[str, np.ndarray], index: np.ndarray | slice) -> dict[str, np.ndarray]:
    """The same rows of every input: what shuffling, batching and rejecting rows need."""
    return {name: column[index] for name, column in inputs.items()}


def concat(parts: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if len(parts) == 1:
        return dict(parts[0])
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
