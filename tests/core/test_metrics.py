import math

import numpy as np
import pytest

from pipeline.core.metrics import PLOT_POINTS, binary_metrics, confusion_rows, pr_points, roc_points, thinned


def test_binary_metrics_exact():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    m = binary_metrics(y, p, threshold=0.5)
    # predictions 0 1 0 1: one true positive, one false positive, one false negative.
    assert m["accuracy"] == 0.5
    assert m["precision"] == 0.5
    assert m["recall"] == 0.5
    assert m["f1"] == 0.5
    assert m["roc_auc"] == 0.75
    expected_loss = -np.mean(np.log([0.9, 0.4, 0.4, 0.9]))
    assert m["loss"] == pytest.approx(expected_loss)


def test_threshold_moves_the_decisions_not_the_ranking():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    m = binary_metrics(y, p, threshold=0.35)
    assert (m["accuracy"], m["recall"], m["precision"]) == (0.75, 1.0, pytest.approx(2 / 3))
    assert m["roc_auc"] == 0.75


def test_roc_auc_is_nan_with_one_class():
    assert math.isnan(binary_metrics(np.array([1, 1]), np.array([0.2, 0.9]), 0.5)["roc_auc"])


def test_curves_start_and_end_where_they_should():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    roc = roc_points(y, p)
    assert (roc[0]["fpr"], roc[0]["tpr"]) == (0.0, 0.0)
    assert (roc[-1]["fpr"], roc[-1]["tpr"]) == (1.0, 1.0)
    pr = pr_points(y, p)
    assert (pr[-1]["recall"], pr[-1]["precision"]) == (0.0, 1.0)
    assert all(0.0 <= point["threshold"] <= 1.0 for point in roc + pr)


def test_curves_of_a_large_holdout_are_thinned_keeping_both_ends():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=50_000)
    p = np.clip(y * 0.3 + rng.random(50_000) * 0.7, 0, 1)
    roc, pr = roc_points(y, p), pr_points(y, p)
    assert len(roc) == len(pr) == PLOT_POINTS
    assert (roc[0]["fpr"], roc[0]["tpr"], roc[-1]["fpr"], roc[-1]["tpr"]) == (0.0, 0.0, 1.0, 1.0)
    assert (pr[-1]["recall"], pr[-1]["precision"]) == (0.0, 1.0)
    assert thinned(5, limit=3).tolist() == [0, 2, 4] and thinned(2).tolist() == [0, 1]


def test_confusion_rows_pair_actual_with_predicted():
    assert confusion_rows(["a", "b"], ["a", "a"]) == [
        {"actual": "a", "predicted": "a"},
        {"actual": "b", "predicted": "a"},
    ]
    sample = confusion_rows(["a", "b"] * 50, ["a"] * 100, limit=10)  # evenly spaced records
    assert len(sample) == 10 and {r["actual"] for r in sample} == {"a", "b"}


def test_multiclass_metrics_exact():
    from pipeline.core.metrics import multiclass_metrics

    y = np.array([0, 1, 2, 2])
    probs = np.array(
        [
            [0.7, 0.2, 0.1],  # right
            [0.5, 0.4, 0.1],  # wrong; true class second
            [0.1, 0.2, 0.7],  # right
            [0.6, 0.1, 0.3],
        ]
    )  # wrong; true class second
    m = multiclass_metrics(y, probs, top_k=2)
    assert m["accuracy"] == 0.5
    assert m["top_k_accuracy"] == 1.0
    # per class F1: class 0 (1 TP, 2 FP) 0.5; class 1 (0 TP) 0; class 2 (1 TP, 1 FN) 2/3.
    assert m["macro_f1"] == pytest.approx((0.5 + 0 + 2 / 3) / 3)
    assert m["loss"] == pytest.approx(-np.mean(np.log([0.7, 0.4, 0.7, 0.3])))


def test_regression_metrics_exact():
    from pipeline.core.metrics import regression_metrics

    m = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 6.0]))
    assert (m["loss"], m["mae"], m["rmse"]) == (1.0, 0.5, 1.0)
    assert m["r2"] == pytest.approx(1 - 4 / 5)


def test_decisive_metric_defaults_per_task_and_refuses_what_a_task_lacks():
    from pipeline.core.errors import ConfigMismatchError
    from pipeline.core.metrics import decisive_metric

    assert [decisive_metric("auto", t) for t in ("binary", "multiclass", "regression")] == [
        "roc_auc",
        "macro_f1",
        "r2",
    ]
    assert decisive_metric("rmse", "regression") == "rmse"
    with pytest.raises(
        ConfigMismatchError,
        match="register.metric = 'roc_auc' is not measured for a "
        "regression task. Fix: use auto or one of loss, mae",
    ):
        decisive_metric("roc_auc", "regression")


def test_per_class_rows_and_residuals():
    from pipeline.core.metrics import per_class_rows, residual_rows

    rows = per_class_rows(["a", "b", "b"], ["a", "a", "b"], ["a", "b"])
    assert rows == [
        {"class": "a", "precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1},
        {"class": "b", "precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2},
    ]
    assert residual_rows(np.array([3.0]), np.array([[2.5]])) == [
        {"actual": 3.0, "predicted": 2.5, "residual": 0.5}
    ]


def test_a_binary_task_is_never_scored_without_a_threshold():
    from pipeline.core.metrics import task_metrics

    with pytest.raises(ValueError, match="a binary task is scored at a decision threshold"):
        task_metrics("binary", np.array([0, 1]), np.array([[0.8, 0.2], [0.3, 0.7]]), None)


def _sklearn_metrics(task: str, y, outputs, threshold=None, k=2) -> dict[str, float]:
    """What scikit-learn says, as core/metrics used to compute them."""
    from sklearn import metrics as skm

    if task == "binary":
        pred = (outputs >= threshold).astype(int)
        return {
            "loss": skm.log_loss(y, np.column_stack([1 - outputs, outputs]), labels=[0, 1]),
            "accuracy": skm.accuracy_score(y, pred),
            "precision": skm.precision_score(y, pred, zero_division=0),
            "recall": skm.recall_score(y, pred, zero_division=0),
            "f1": skm.f1_score(y, pred, zero_division=0),
            "roc_auc": skm.roc_auc_score(y, outputs) if len(set(y)) == 2 else math.nan,
        }
    if task == "multiclass":
        classes = np.arange(outputs.shape[1])
        pred = outputs.argmax(axis=1)
        return {
            "loss": skm.log_loss(y, outputs, labels=classes),
            "accuracy": skm.accuracy_score(y, pred),
            "macro_f1": skm.f1_score(y, pred, labels=classes, average="macro", zero_division=0),
            "top_k_accuracy": skm.top_k_accuracy_score(y, outputs, k=k, labels=classes),
        }
    mse = skm.mean_squared_error(y, outputs)
    return {
        "loss": mse,
        "mae": skm.mean_absolute_error(y, outputs),
        "rmse": math.sqrt(mse),
        "r2": skm.r2_score(y, outputs),
    }


def _same(ours: dict[str, float], theirs: dict[str, float]) -> None:
    assert ours.keys() == theirs.keys()
    for name, value in theirs.items():
        assert ours[name] == pytest.approx(value, rel=1e-12, abs=1e-12, nan_ok=True), name


@pytest.mark.parametrize("seed", range(6))
def test_binary_metrics_equal_scikit_learns(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    y = rng.integers(0, 2, size=n)
    # Rounded scores: many ties, some exactly 0 and 1 (clipped in the loss).
    p = np.round(np.clip(0.3 * y + rng.random(n) * 0.8 - 0.05, 0, 1), 1 + seed % 3)
    _same(binary_metrics(y, p, threshold=0.5), _sklearn_metrics("binary", y, p, threshold=0.5))


def test_binary_metrics_with_nothing_predicted_positive_or_one_class():
    y, p = np.array([0, 1, 1]), np.array([0.1, 0.2, 0.3])
    _same(binary_metrics(y, p, 0.9), _sklearn_metrics("binary", y, p, threshold=0.9))
    y = np.array([1, 1, 1])
    _same(binary_metrics(y, p, 0.25), _sklearn_metrics("binary", y, p, threshold=0.25))


@pytest.mark.parametrize("seed", range(6))
def test_multiclass_metrics_equal_scikit_learns(seed):
    from pipeline.core.metrics import multiclass_metrics

    rng = np.random.default_rng(seed)
    n, classes = int(rng.integers(3, 300)), int(rng.integers(3, 7))
    y = rng.integers(0, classes - 1, size=n)  # the last class never in the holdout
    logits = np.round(rng.normal(size=(n, classes)) + 2 * np.eye(classes)[y], seed % 2)  # ties
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    _same(multiclass_metrics(y, probs, top_k=2), _sklearn_metrics("multiclass", y, probs, k=2))


@pytest.mark.parametrize("seed", range(4))
def test_regression_metrics_equal_scikit_learns(seed):
    from pipeline.core.metrics import regression_metrics

    rng = np.random.default_rng(seed)
    y = rng.normal(100, 30, size=int(rng.integers(2, 500)))
    values = y + rng.normal(0, 10, size=len(y))
    _same(regression_metrics(y, values), _sklearn_metrics("regression", y, values))


def test_r2_of_a_constant_target_is_one_when_perfect_else_zero():
    from pipeline.core.metrics import regression_metrics

    y = np.array([3.0, 3.0, 3.0])
    assert regression_metrics(y, y)["r2"] == 1.0
    assert regression_metrics(y, np.array([3.0, 2.0, 4.0]))["r2"] == 0.0
    _same(
        regression_metrics(y, np.array([3.0, 2.0, 4.0])),
        _sklearn_metrics("regression", y, np.array([3.0, 2.0, 4.0])),
    )


def test_the_holdout_metrics_do_not_import_scikit_learn():
    """register re-scores the champion with them: scikit-learn (with SciPy) costs 0.5 s to import."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from pipeline.core.metrics import task_metrics\n"
        "task_metrics('binary', np.array([0, 1]), np.array([[0.8, 0.2], [0.3, 0.7]]), 0.5)\n"
        "task_metrics('multiclass', np.array([0, 2]), np.full((2, 3), 1 / 3), None)\n"
        "task_metrics('regression', np.array([1.0, 2.0]), np.array([1.5, 2.5]), None)\n"
        "print('sklearn' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
