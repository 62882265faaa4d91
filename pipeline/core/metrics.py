"""Holdout metrics per task and the curve data behind DVC plots, from model outputs."""

from __future__ import annotations

import numpy as np

from pipeline.core.errors import ConfigMismatchError
from pipeline.core.tasks import BINARY, MULTICLASS, Task, top_k_for

# The holdout metrics of each task; the first after the loss is not special, the default
# decisive metric of the gate is DEFAULT_DECISIVE.
TASK_METRICS = {
    BINARY: ("loss", "accuracy", "precision", "recall", "f1", "roc_auc"),
    MULTICLASS: ("loss", "accuracy", "macro_f1", "top_k_accuracy"),
    "regression": ("loss", "mae", "rmse", "r2"),
}
# Plot data keeps at most this many points: a curve over a million-row holdout has a point
# per distinct score, far more than a plot can show or a JSON file should hold.
PLOT_POINTS = 1000
CONFUSION_RECORDS = 10_000

DEFAULT_DECISIVE = {BINARY: "roc_auc", MULTICLASS: "macro_f1", "regression": "r2"}
# Errors shrink with quality; every other metric here grows with it.
LOWER_IS_BETTER = frozenset({"loss", "mae", "rmse"})


class _SklearnMetrics:
    """scikit-learn's metrics, imported when first used: importing it costs about 1 s (SciPy),
    and the train stage, which only checks a metric's name here, never needs it."""

    def __getattr__(self, name: str):
        from sklearn import metrics

        return getattr(metrics, name)


skm = _SklearnMetrics()


def decisive_metric(requested: str, task: Task) -> str:
    """`register.metric`, resolved (`auto`) and checked against what the task measures."""
    if requested == "auto":
        return DEFAULT_DECISIVE[task]
    if requested not in TASK_METRICS[task]:
        raise ConfigMismatchError(
            f"register.metric = {requested!r} is not measured for a {task} task. Fix: use auto "
            f"or one of {', '.join(TASK_METRICS[task])}."
        )
    return requested


def task_metrics(
    task: Task, y_true: np.ndarray, outputs: np.ndarray, threshold: float | None, top_k: int = 3
) -> dict[str, float]:
    """Holdout metrics from class probabilities (classification) or values (regression)."""
    if task == BINARY:
        if threshold is None:
            raise ValueError("a binary task is scored at a decision threshold: pass the one evaluate chose")
        return binary_metrics(y_true, outputs[:, 1], threshold)
    if task == MULTICLASS:
        return multiclass_metrics(y_true, outputs, top_k)
    return regression_metrics(y_true, outputs)


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


def multiclass_metrics(y_true: np.ndarray, probs: np.ndarray, top_k: int) -> dict[str, float]:
    """Loss (categorical cross-entropy), accuracy, macro F1 and top-k accuracy."""
    y_true = np.asarray(y_true, dtype="int64")
    probs = np.asarray(probs, dtype="float64")
    classes = np.arange(probs.shape[1])
    y_pred = probs.argmax(axis=1)
    k = top_k_for(top_k, probs.shape[1])
    return {
        "loss": float(skm.log_loss(y_true, probs, labels=classes)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)),
        "top_k_accuracy": float(skm.top_k_accuracy_score(y_true, probs, k=k, labels=classes)),
    }


def regression_metrics(y_true: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Loss (mean squared error), MAE, RMSE and R²."""
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(values, dtype="float64").reshape(-1)
    mse = float(skm.mean_squared_error(y_true, y_pred))
    return {
        "loss": mse,
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "rmse": float(np.sqrt(mse)),
        "r2": float(skm.r2_score(y_true, y_pred)),
    }


def per_class_rows(actual: list, predicted: list, labels: list) -> list[dict]:
    """Precision, recall, F1 and support of every class: where a multi-class model errs."""
    names = [str(label) for label in labels]
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        [str(a) for a in actual], [str(p) for p in predicted], labels=names, zero_division=0
    )
    return [
        {"class": name, "precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(names, precision, recall, f1, support)
    ]


def residual_rows(y_true: np.ndarray, values: np.ndarray) -> list[dict[str, float]]:
    """Predicted against actual, and the residual, per holdout row (regression plots)."""
    y_pred = np.asarray(values, dtype="float64").reshape(-1)
    kept = thinned(len(y_pred))
    return [
        {"actual": float(a), "predicted": float(p), "residual": float(a - p)}
        for a, p in zip(np.asarray(y_true, dtype="float64")[kept], y_pred[kept])
    ]


def thinned(n: int, limit: int = PLOT_POINTS) -> np.ndarray:
    """Indices of at most `limit` points spread evenly over n, the first and last kept."""
    return np.unique(np.linspace(0, n - 1, min(n, limit)).round().astype(int)) if n else np.arange(0)


def roc_points(y_true: np.ndarray, p_positive: np.ndarray) -> list[dict[str, float]]:
    fpr, tpr, thr = skm.roc_curve(y_true, p_positive)
    kept = thinned(len(fpr))
    fpr, tpr, thr = fpr[kept], tpr[kept], thr[kept]
    return [
        {"fpr": float(f), "tpr": float(t), "threshold": float(min(h, 1.0))} for f, t, h in zip(fpr, tpr, thr)
    ]


def pr_points(y_true: np.ndarray, p_positive: np.ndarray) -> list[dict[str, float]]:
    precision, recall, thr = skm.precision_recall_curve(y_true, p_positive)
    # sklearn returns one more (precision, recall) pair than thresholds: the (1, 0) end point.
    thr = np.append(thr, 1.0)
    kept = thinned(len(thr))
    precision, recall, thr = precision[kept], recall[kept], thr[kept]
    return [
        {"recall": float(r), "precision": float(p), "threshold": float(h)}
        for p, r, h in zip(precision, recall, thr)
    ]


def confusion_rows(actual: list, predicted: list, limit: int = CONFUSION_RECORDS) -> list[dict[str, str]]:
    """One row per record, the shape DVC's confusion template reads (it counts them).

    A holdout larger than `limit` gives an evenly spaced sample of its records: the plot's
    proportions stay, the file stays small. The exact counts are in the MLflow figure.
    """
    return [{"actual": str(actual[i]), "predicted": str(predicted[i])} for i in thinned(len(actual), limit)]
