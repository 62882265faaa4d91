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
    """scikit-learn's curves and per-class report, imported when first used: importing it costs
    about 0.5 s (SciPy). The holdout metrics are NumPy (the same values, tested against it), so
    neither the train stage nor register, which re-scores the champion, pays that import."""

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
    tp, fp, fn = _counts(y_true, y_pred, 1)
    return {
        "loss": cross_entropy(y_true, np.column_stack([1 - p, p])),
        "accuracy": float(np.mean(y_pred == y_true)),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": roc_auc(y_true, p),
    }


def multiclass_metrics(y_true: np.ndarray, probs: np.ndarray, top_k: int) -> dict[str, float]:
    """Loss (categorical cross-entropy), accuracy, macro F1 and top-k accuracy."""
    y_true = np.asarray(y_true, dtype="int64")
    probs = np.asarray(probs, dtype="float64")
    y_pred = probs.argmax(axis=1)
    k = top_k_for(top_k, probs.shape[1])
    f1s = []
    for label in range(probs.shape[1]):  # every class counts, seen in the holdout or not
        tp, fp, fn = _counts(y_true, y_pred, label)
        f1s.append(_ratio(2 * tp, 2 * tp + fp + fn))
    # Ties ranked as scikit-learn ranks them: a stable ascending sort, reversed.
    top = np.argsort(probs, axis=1, kind="mergesort")[:, ::-1][:, :k]
    return {
        "loss": cross_entropy(y_true, probs),
        "accuracy": float(np.mean(y_pred == y_true)),
        "macro_f1": float(np.mean(f1s)),
        "top_k_accuracy": float(np.mean((top == y_true[:, None]).any(axis=1))),
    }


def regression_metrics(y_true: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Loss (mean squared error), MAE, RMSE and R² (1 for a perfect fit of a constant target,
    0 for any other fit of it, as scikit-learn's `force_finite` has it)."""
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(values, dtype="float64").reshape(-1)
    error = y_true - y_pred
    mse = float(np.mean(error**2))
    residual, total = float(np.sum(error**2)), float(np.sum((y_true - y_true.mean()) ** 2))
    if total == 0:
        r2 = 1.0 if residual == 0 else 0.0
    else:
        r2 = 1 - residual / total
    return {"loss": mse, "mae": float(np.mean(np.abs(error))), "rmse": float(np.sqrt(mse)), "r2": r2}


def cross_entropy(y_true: np.ndarray, probs: np.ndarray) -> float:
    """Mean negative log-likelihood of the true classes, probabilities clipped to [eps, 1 - eps]
    (scikit-learn's `log_loss`: a confident miss costs about 36, not infinity)."""
    eps = np.finfo(probs.dtype).eps
    chosen = np.clip(probs, eps, 1 - eps)[np.arange(len(y_true)), y_true]
    return float(-np.mean(np.log(chosen)))


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random
    negative, a tie counting half (Mann-Whitney U from average ranks; the trapezoids under
    scikit-learn's curve give the same). NaN when the holdout lacks either class."""
    positives = y_true == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype="float64")
    ranks[order] = np.arange(1, len(scores) + 1)
    _, group, counts = np.unique(scores, return_inverse=True, return_counts=True)
    # Tied scores share the mean of their ranks: the sum of each group's ranks over its size.
    ranks = (np.bincount(group, weights=ranks) / counts)[group]
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _counts(y_true: np.ndarray, y_pred: np.ndarray, label: int) -> tuple[int, int, int]:
    """True positives, false positives and false negatives of one class."""
    actual, predicted = y_true == label, y_pred == label
    return int(np.sum(actual & predicted)), int(np.sum(~actual & predicted)), int(np.sum(actual & ~predicted))


def _ratio(numerator: int, denominator: int) -> float:
    """A precision, recall or F1; 0 when nothing was predicted or present (zero_division=0)."""
    return numerator / denominator if denominator else 0.0


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
