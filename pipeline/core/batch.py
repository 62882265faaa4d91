"""Checks on a chunk of a table to score: the batch counterpart of the service's request checks.

The file has the training table's own format: one column per raw feature, plus any others
(the target, an id column prepare dropped), which are passed through. A missing feature column
fails the whole file; a bad value sets its row aside for the rejects file, with the reason, and
the rest is scored. An empty cell is a missing value, which the model handles, not a reject.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core.contract import BOOLEAN, MISSING, NUMERIC, Contract, FeatureSpec
from pipeline.core.errors import DataError
from pipeline.core.requests import boolean, category, number, shown
from pipeline.core.rows import category_text, fits_float32, is_missing, model_inputs

SHOWN_PROBLEMS = 5  # per rejected row


@dataclass(frozen=True)
class Checked:
    inputs: dict[str, np.ndarray]  # the valid rows' model inputs, {input name: (rows, 1)}
    valid: np.ndarray  # one bool per row of the chunk
    reasons: list[str]  # one per invalid row, in row order


def check_columns(columns: list[str], contract: Contract, source: str) -> None:
    """A missing feature column fails the whole file (every row would be rejected)."""
    missing = [name for name in contract.names if name not in columns]
    if missing:
        raise DataError(
            f"{source}: feature column(s) {missing} missing. The model takes {len(contract.names)} "
            f"raw columns: {contract.names} (see /metadata); other columns (such as "
            f"{contract.target!r}) are passed through. Fix: add the missing column(s) to the file; "
            "an empty cell is a missing value."
        )


def check_rows(frame: pd.DataFrame, features: list[FeatureSpec], text_cells: bool = False) -> Checked:
    """The chunk's model inputs, with the rows whose values do not fit their kind set aside.

    `text_cells`: every cell was read as text (a CSV), so numbers are parsed here, and a
    category the training table held as numbers is spelt as training spelt it ("3.0" -> "3").
    """
    rows = len(frame)
    bad = np.zeros(rows, dtype=bool)
    problems: dict[int, list[str]] = {}
    columns: dict[str, Any] = {}
    for feature in features:
        values, wrong = _column(frame[feature.name], feature, text_cells)
        columns[feature.name] = values
        for row, problem in wrong:
            bad[row] = True
            problems.setdefault(row, []).append(f"{feature.name}: {problem}")
    valid = ~bad
    kept = {name: values[valid] for name, values in columns.items()}
    reasons = [_reason(problems[row]) for row in np.flatnonzero(bad).tolist()]
    return Checked(model_inputs(kept, features), valid, reasons)


def _reason(problems: list[str]) -> str:
    more = len(problems) - SHOWN_PROBLEMS
    return "; ".join(problems[:SHOWN_PROBLEMS]) + (f" (and {more} more)" if more > 0 else "")


Problems = list[tuple[int, str]]  # (row in the chunk, the problem in words)


def _column(series: pd.Series, feature: FeatureSpec, text_cells: bool) -> tuple[np.ndarray, Problems]:
    """(values the model takes: float64, or category text; the rows' problems)."""
    if feature.kind == NUMERIC:
        return _numbers(series, text_cells)
    if feature.kind == BOOLEAN:
        check = _text_boolean if text_cells else boolean
    elif text_cells and numeric_spelling(feature):
        check = _number_text_category
    else:
        check = _any_category
    if _one_type(series):  # each distinct value checked once: 1M rows, a few hundred values
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        spelt, problem_of = [], {}
        for code, value in enumerate(uniques):
            converted, problem = _checked(value, check)
            spelt.append(MISSING if problem else converted)
            if problem:
                problem_of[code] = problem
        out = np.array([*spelt, MISSING], dtype=object)[codes]  # code -1 (missing): the last
        rows = np.flatnonzero(np.isin(codes, list(problem_of)))
        return out, [(int(row), problem_of[codes[row]]) for row in rows]
    values = series.to_numpy(dtype=object)
    out = np.full(len(values), MISSING, dtype=object)
    wrong = []
    for row, value in enumerate(values):
        converted, problem = _checked(value, check)
        if problem is None:
            out[row] = converted
        else:
            wrong.append((row, problem))
    return out, wrong


def _one_type(series: pd.Series) -> bool:
    """A column whose values share one type: distinct values can be told apart by hashing
    (in a mixed object column True, 1 and 1.0 hash alike but spell differently)."""
    return not pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series)


def _checked(value: Any, check: Any) -> tuple[Any, str | None]:
    if is_missing(value):
        return MISSING, None
    return check(value.item() if isinstance(value, np.generic) else value)


def _numbers(series: pd.Series, text_cells: bool) -> tuple[np.ndarray, Problems]:
    """Numbers as float64 (NaN: missing); true/false, numbers beyond float32 and text refused
    (but the text of a number in a CSV's cells, which is how a CSV holds numbers)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        out = series.to_numpy(dtype="float64", na_value=np.nan, copy=True)
        wrong = []
    elif text_cells and pd.api.types.is_string_dtype(series):  # a CSV's cells, parsed at C speed
        missing = (series.isna() | (series == "")).to_numpy(dtype=bool)
        out = pd.to_numeric(series.where(~missing), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan, copy=True
        )
        text = np.flatnonzero(np.isnan(out) & ~missing)
        cells = series.to_numpy(dtype=object)
        wrong = [(int(row), f"{shown(cells[row])} is not a number (numeric feature)") for row in text]
    else:  # mixed objects: each value by itself
        cells = series.to_numpy(dtype=object)
        out = np.full(len(cells), np.nan)
        wrong = []
        for row, value in enumerate(cells):
            if is_missing(value):
                continue
            value = value.item() if isinstance(value, np.generic) else value
            converted, problem = _number_cell(value) if text_cells else number(value)
            if problem is None:
                out[row] = converted
            else:
                wrong.append((row, problem))
        return out, wrong
    over = np.flatnonzero(~np.isnan(out) & ~fits_float32(out))
    wrong += [(int(row), problem) for row in over if (problem := number(float(out[row]))[1]) is not None]
    out[over] = np.nan
    return out, sorted(wrong)


# What prepare's CSV reader (pyarrow) reads as true and false: a boolean column's cells.
TRUE_TEXT, FALSE_TEXT = ("1", "True", "TRUE", "true"), ("0", "False", "FALSE", "false")


def _text_boolean(value: Any) -> tuple[str | None, str | None]:
    if value in TRUE_TEXT:
        return "true", None
    if value in FALSE_TEXT:
        return "false", None
    return boolean(value)  # its problem


def _number_cell(value: Any) -> tuple[float | None, str | None]:
    if isinstance(value, str):
        parsed = _parse_number(value)
        if parsed is None:
            return None, f"{shown(value)} is not a number (numeric feature)"
        value = parsed
    return number(value)


def _parse_number(text: str) -> float | None:
    if "_" in text:  # Python reads "1_000" as a number; no CSV reader does
        return None
    try:
        return float(text)
    except ValueError:
        return None


def numeric_spelling(feature: FeatureSpec) -> bool:
    """Whether training read this category column as numbers: every category it knows is a
    number in `category_text`'s spelling ("3", "2.5"), so a CSV's "3.0" means category "3"."""
    known = [c for c in feature.categories if c != MISSING]
    return bool(known) and all(_canonical_number(c) == c for c in known)


def _canonical_number(text: str) -> str | None:
    value = _parse_number(text)
    if value is None or not math.isfinite(value):
        return None
    if value.is_integer() and text.strip().lstrip("+-").isdigit():
        return category_text(int(text))  # exact, however many digits
    return category_text(value)


def _any_category(value: Any) -> tuple[str | None, str | None]:
    """A typed cell (parquet) as a category: anything `category_text` spells (dates too)."""
    if isinstance(value, list | tuple | dict | set | np.ndarray):
        return category(value)  # its problem
    return category_text(value), None


def _number_text_category(value: Any) -> tuple[str | None, str | None]:
    if isinstance(value, str):
        spelt = _canonical_number(value)
        return (value if spelt is None else spelt), None
    return _any_category(value)
