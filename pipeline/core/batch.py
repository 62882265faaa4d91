"""Checks on a chunk of a table to score: the batch counterpart of the service's request checks.

A bad row does not stop the file: it goes to the rejects with its reason, the rest is scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.errors import DataError
from pipeline.core.requests import FLOAT32_MAX


def check_columns(columns: list[str], features: list[str], source: str) -> None:
    """A missing feature column fails the whole file (every row would be rejected)."""
    missing = [f for f in features if f not in columns]
    if missing:
        raise DataError(f"{source}: feature column(s) {missing} missing. The model takes "
                        f"{len(features)} features (see /metadata). Fix: add them to the file.")


def check_rows(frame: pd.DataFrame, features: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(float32 matrix of the valid rows, mask of valid rows, reason per invalid row)."""
    values = frame[features].apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(values) | (np.abs(np.nan_to_num(values)) > FLOAT32_MAX)
    valid = ~bad.any(axis=1)
    reasons = []
    for row in np.flatnonzero(~valid):
        columns = [features[j] for j in np.flatnonzero(bad[row])]
        shown = ", ".join(f"{c}={_shown(frame[c].iloc[row])}" for c in columns[:5])
        reasons.append(f"not a finite float32 number: {shown}")
    return values[valid].astype("float32"), valid, reasons


def _shown(value: object) -> str:
    if pd.isna(value):
        return "(empty)"
    return repr(value.item() if isinstance(value, np.generic) else value)
