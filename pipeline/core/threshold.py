"""Choosing the decision threshold on the validation split (never on the holdout)."""

from __future__ import annotations

import numpy as np

from pipeline.core.errors import ConfigMismatchError


def choose_threshold(
    policy: str, y_val: np.ndarray, p_val: np.ndarray, fixed: float, target: float = 0.9
) -> float:
    if policy == "fixed":
        return float(fixed)
    if policy == "max_f1":
        return max_f1_threshold(y_val, p_val)
    if policy == "target_precision":
        return target_precision_threshold(y_val, p_val, target)
    if policy == "target_recall":
        return target_recall_threshold(y_val, p_val, target)
    raise ConfigMismatchError(
        f"evaluate.threshold_policy = {policy!r} is unknown. Fix: use fixed, max_f1, "
        "target_precision or target_recall."
    )


def _confusion_at(y: np.ndarray, p: np.ndarray, t: float) -> tuple[int, int, int]:
    """(true positives, flagged, positives) when records with p >= t are flagged."""
    flagged = p >= t
    return int((flagged & (y == 1)).sum()), int(flagged.sum()), int(y.sum())


def target_precision_threshold(y_true: np.ndarray, p_positive: np.ndarray, target: float) -> float:
    """The lowest threshold whose precision reaches `target`: the most recall at that precision.

    When no threshold reaches it, the error says the best precision there is.
    """
    y, p = np.asarray(y_true, dtype="int64"), np.asarray(p_positive, dtype="float64")
    best = 0.0
    for t in np.unique(p):  # ascending: the first that qualifies flags the most records
        tp, flagged, _ = _confusion_at(y, p, t)
        precision = tp / flagged if flagged else 0.0
        if precision >= target:
            return float(t)
        best = max(best, precision)
    raise ConfigMismatchError(
        f"evaluate.target = {target:g}: no threshold reaches that precision on the validation "
        f"split (best {best:.3f}). Fix: lower evaluate.target or use threshold_policy max_f1."
    )


def target_recall_threshold(y_true: np.ndarray, p_positive: np.ndarray, target: float) -> float:
    """The highest threshold whose recall still reaches `target`: the most precision at it."""
    y, p = np.asarray(y_true, dtype="int64"), np.asarray(p_positive, dtype="float64")
    for t in np.unique(p)[::-1]:  # descending: recall only grows as the threshold falls
        tp, _, positives = _confusion_at(y, p, t)
        if positives and tp / positives >= target:
            return float(t)
    raise ConfigMismatchError(
        f"evaluate.target = {target:g}: no threshold reaches that recall on the validation split "
        "(it has no positive records). Fix: check the split, or use threshold_policy fixed."
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
