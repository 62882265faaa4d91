import math

import numpy as np
import pytest

from pipeline.core.metrics import binary_metrics, confusion_rows, pr_points, roc_points


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


def test_confusion_rows_pair_actual_with_predicted():
    assert confusion_rows(["a", "b"], ["a", "a"]) == [
        {"actual": "a", "predicted": "a"}, {"actual": "b", "predicted": "a"},
    ]
