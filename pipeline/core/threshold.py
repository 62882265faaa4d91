"""Choosing the decision threshold on the validation split (never on the holdout)."""

from __future__ import annotations

import numpy as np

from pipeline.core.errors import ConfigMismatchError


def choose_threshold(policy: str, y_val: np.ndarray, p_val: np.ndarray, fixed: float) -> float:
    if policy == "fixed":
        return float(fixed)
    if policy == "max_f1":
        return max_f1_threshold(y_val, p_val)
    raise ConfigMismatchError(
        f"evaluate.threshold_policy = {policy!r} is unknown. Fix: use 'fixed' or 'max_f1'."
    )


def max_f1_threshold(y_true: np.ndarray, p_positive: np.ndarray) -> float:
    """The candidate threshold (a validation probability) with the highest F1.

    Ties go to the highest threshold: of equally good cut-offs it flags fewest records.
    """
    y = np.asarray(y_true, dtype="int64")
    p = np.asarray(p_positive, dtype="float64")
    candidates = np.unique(p)
    best_threshold, best_f1 = 0.5, -1.0
    positives = int(y.sum())
    for t in candidates:
        flagged = p >= t
        tp = int((flagged & (y == 1)).sum())
        denom = int(flagged.sum()) + positives
        f1 = 2 * tp / denom if denom else 0.0
        if f1 >= best_f1:
            best_threshold, best_f1 = float(t), f1
    return best_threshold
