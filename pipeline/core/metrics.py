"""Holdout metrics and the curve data behind DVC plots, from probabilities."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

# Lower is better only for the loss; every other metric here grows with quality.
LOWER_IS_BETTER = frozenset({"loss"})


def binary_metrics(y_true: np.ndarray, p_positive: np.ndarray, threshold: float) -> dict[str, float]:
    """Loss (binary cross-entropy), accuracy, precision, recall, f1 and ROC AUC."""
    y_true = np.asarray(y_true, dtype="int64")
    p = np.asarray(p_positive, dtype="float64")
    y_pred = (p >= threshold).astype("int64")
    both_classes = len(np.unique(y_true)) == 2
    return {
        "loss": float(skm.log_loss(y_true, p, labels=[0, 1])),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(skm.precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(skm.recall_score(y_true, y_pred, zero_division=0)),
        "f1": float(skm.f1_score(y_true, y_pred, zero_division=0)),
        "roc_auc": float(skm.roc_auc_score(y_true, p)) if both_classes else float("nan"),
    }


def roc_points(y_true: np.ndarray, p_positive: np.ndarray) -> list[dict[str, float]]:
    fpr, tpr, thr = skm.roc_curve(y_true, p_positive)
    return [
        {"fpr": float(f), "tpr": float(t), "threshold": float(min(h, 1.0))}
        for f, t, h in zip(fpr, tpr, thr)
    ]


def pr_points(y_true: np.ndarray, p_positive: np.ndarray) -> list[dict[str, float]]:
    precision, recall, thr = skm.precision_recall_curve(y_true, p_positive)
    # sklearn returns one more (precision, recall) pair than thresholds: the (1, 0) end point.
    thr = np.append(thr, 1.0)
    return [
        {"recall": float(r), "precision": float(p), "threshold": float(h)}
        for p, r, h in zip(precision, recall, thr)
    ]


def confusion_rows(actual: list, predicted: list) -> list[dict[str, str]]:
    """One row per record, the shape DVC's confusion template reads."""
    return [{"actual": str(a), "predicted": str(p)} for a, p in zip(actual, predicted)]
