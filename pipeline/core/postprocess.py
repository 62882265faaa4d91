"""Logits -> probabilities -> labels (or values): the post-processing evaluate and serving share.

Whatever evaluate reports is what the service answers, because both call these functions.
Computed in float64 so that extreme logits still give probabilities strictly inside (0, 1)
whenever float64 can represent them.
"""

from __future__ import annotations

import numpy as np

from pipeline.core.tasks import BINARY, REGRESSION, Task


def sigmoid(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype="float64")
    # Two branches avoid overflow of exp() for large |z|.
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype="float64")
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def probabilities(logits: np.ndarray, task: Task) -> np.ndarray:
    """One row per record, one column per class, rows summing to 1."""
    z = np.asarray(logits, dtype="float64")
    if task == BINARY:
        positive = sigmoid(z.reshape(-1))
        return np.column_stack([1.0 - positive, positive])
    return softmax(z)


def predict_labels(probs: np.ndarray, class_labels: list, threshold: float | None) -> list:
    """Binary: the positive (second) class when its probability is >= threshold.

    So threshold 0 labels every record positive and threshold 1 only certain ones. With
    more than two classes (or no threshold) the most probable class wins.
    """
    probs = np.asarray(probs, dtype="float64")
    if probs.shape[1] == 2 and threshold is not None:
        index = (probs[:, 1] >= threshold).astype("int64")
    else:
        index = probs.argmax(axis=1)
    return [class_labels[i] for i in index]


def outputs(raw: np.ndarray, task: Task) -> np.ndarray:
    """What the model's raw output means: class probabilities, or the value (regression)."""
    if task == REGRESSION:
        return np.asarray(raw, dtype="float64").reshape(-1)
    return probabilities(raw, task)


def answers(raw: np.ndarray, task: Task, class_labels: list, threshold: float | None) -> list[dict]:
    """One answer per record, as the service returns it and batch scoring writes it.

    Classification: the label (the original class label) and every class's probability,
    keyed by the label as text (JSON keys are strings). Regression: the value.
    """
    if task == REGRESSION:
        return [{"value": float(v)} for v in outputs(raw, task)]
    probs = probabilities(raw, task)
    labels = predict_labels(probs, class_labels, threshold)
    names = [str(label) for label in class_labels]
    return [
        {"label": label, "probabilities": dict(zip(names, map(float, row)))}
        for label, row in zip(labels, probs)
    ]
