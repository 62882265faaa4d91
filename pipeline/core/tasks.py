"""Which task a target column poses, and the loss, output and metrics that task needs.

The model always outputs logits (or, for regression, the value itself); the loss follows
from the task and the label encoding, always with `from_logits=True`, Keras' own advice: it
is numerically stabler than a sigmoid/softmax output followed by a probability loss. The
classic mistakes of the Keras workflow (a loss that does not fit the labels, `from_logits`
that does not fit the output activation) are refused here, before any training.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd

from pipeline.core.errors import ConfigMismatchError, DataError

# The one task type: every `task` in the code is one of these three.
Task = Literal["binary", "multiclass", "regression"]
BINARY: Final = "binary"
MULTICLASS: Final = "multiclass"
REGRESSION: Final = "regression"
TASKS: tuple[Task, ...] = get_args(Task)
CLASSIFICATION: tuple[Task, ...] = (BINARY, MULTICLASS)
# data.task: one of them, or `auto` (prepare decides from the target column).
TaskSetting = Literal["auto", "binary", "multiclass", "regression"]

# Keras loss class per `train.loss` name, and the tasks each one fits.
LOSSES = {
    "binary_crossentropy": ("BinaryCrossentropy", (BINARY,)),
    "categorical_crossentropy": ("CategoricalCrossentropy", (MULTICLASS,)),
    "sparse_categorical_crossentropy": ("SparseCategoricalCrossentropy", (MULTICLASS,)),
    "mse": ("MeanSquaredError", (REGRESSION,)),
    "mae": ("MeanAbsoluteError", (REGRESSION,)),
}

# Keras metrics compiled per task (names as they appear in the History and on MLflow).
TRAINING_METRICS = {
    BINARY: ("accuracy", "precision", "recall", "auc"),
    MULTICLASS: ("accuracy", "top_k_accuracy"),
    REGRESSION: ("mae", "rmse"),
}


@dataclass(frozen=True)
class TaskChoice:
    task: Task
    reason: str  # recorded in the schema: why `auto` decided what it did


@dataclass(frozen=True)
class LossSpec:
    """A Keras loss by class name, the width of the output layer, the metrics to compile."""

    task: Task
    loss: str
    from_logits: bool
    output_units: int
    metrics: tuple[str, ...]
    one_hot: bool = False  # labels go to the loss one-hot encoded
    top_k: int = 0  # k of the multi-class top-k accuracy

    def targets(self, y: np.ndarray) -> np.ndarray:
        """Labels as the loss takes them: indices, one-hot rows, or values."""
        if self.one_hot:
            return np.eye(self.output_units, dtype="float32")[y]
        return y


def detect_task(target: pd.Series, requested: TaskSetting, max_classes: int) -> TaskChoice:
    """Decide (for `auto`) or check (otherwise) the task the target column poses.

    Strings and booleans are class labels; integers are classes when there are at most
    `max_classes` distinct values; real numbers (with a fractional part) are a quantity.
    """
    name = target.name
    values = target.dropna()
    distinct = int(values.nunique())
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    fractional = numeric and not np.all(np.mod(values.to_numpy(dtype="float64"), 1) == 0)
    if distinct < 2:
        raise DataError(
            f"data.target {name!r} has {distinct} distinct value(s): nothing to learn. "
            "Fix: point data.target at a column whose values vary."
        )
    natural: Task
    if fractional:
        natural, why = REGRESSION, f"{distinct} distinct real values (with fractional parts)"
    elif not numeric:
        natural = BINARY if distinct == 2 else MULTICLASS
        why = f"{distinct} distinct non-numeric labels"
    elif distinct <= max_classes:
        natural = BINARY if distinct == 2 else MULTICLASS
        why = f"{distinct} distinct integer values (at most data.max_classes = {max_classes})"
    else:
        natural = REGRESSION
        why = f"{distinct} distinct integer values (more than data.max_classes = {max_classes})"
    if requested == "auto":
        return TaskChoice(natural, f"auto: {why}")
    _check_requested(requested, natural, distinct, numeric, fractional, str(name))
    return TaskChoice(requested, f"data.task = {requested} ({why})")


def _check_requested(
    requested: Task, natural: Task, distinct: int, numeric: bool, fractional: bool, name: str
) -> None:
    if requested == REGRESSION and (not numeric or distinct == 2):
        kind = "non-numeric labels" if not numeric else "two values"
        raise ConfigMismatchError(
            f"data.task = regression, but data.target {name!r} holds class labels ({kind}): a "
            "regression loss on class labels. Fix: set data.task to auto or "
            f"{BINARY if distinct == 2 else MULTICLASS}."
        )
    if requested in CLASSIFICATION and fractional:
        raise ConfigMismatchError(
            f"data.task = {requested}, but data.target {name!r} is continuous ({distinct} real "
            "values): a classification loss on a continuous target. Fix: set data.task to "
            "regression (or auto)."
        )
    if requested == BINARY and distinct != 2:
        raise ConfigMismatchError(
            f"data.task = binary, but data.target {name!r} has {distinct} classes. Fix: set "
            "data.task to multiclass (or auto), or map the labels to two classes."
        )
    if requested == MULTICLASS and distinct < 3 and natural != REGRESSION:
        raise ConfigMismatchError(
            f"data.task = multiclass, but data.target {name!r} has only {distinct} classes. "
            "Fix: set data.task to binary (or auto)."
        )


def default_loss(task: Task, label_encoding: str) -> str:
    if task == BINARY:
        return "binary_crossentropy"
    if task == MULTICLASS:
        one_hot = label_encoding == "one_hot"
        return "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
    return "mse"


def choose_loss(
    task: Task,
    n_classes: int,
    loss: str = "auto",
    label_encoding: str = "integer",
    output_activation: str = "linear",
    from_logits: bool = True,
    top_k: int = 3,
) -> LossSpec:
    """The loss for a task, or a ConfigMismatchError naming the mistake and its fix."""
    _check_output(task, output_activation, from_logits)
    chosen = default_loss(task, label_encoding) if loss == "auto" else loss
    keras_name, fits = LOSSES[chosen]
    if task not in fits:
        raise ConfigMismatchError(_loss_mismatch(chosen, task, n_classes, label_encoding))
    if task == MULTICLASS:
        wanted = "one_hot" if chosen == "categorical_crossentropy" else "integer"
        if label_encoding != wanted:
            other = "sparse_categorical_crossentropy" if wanted == "one_hot" else "categorical_crossentropy"
            raise ConfigMismatchError(
                f"train.loss = {chosen} expects {wanted.replace('_', '-')} labels, but "
                f"data.label_encoding = {label_encoding}. Fix: set train.loss to {other} (or auto), "
                f"or data.label_encoding to {wanted}."
            )
    return LossSpec(
        task=task,
        loss=keras_name,
        from_logits=task != REGRESSION,
        output_units=n_classes if task == MULTICLASS else 1,
        metrics=TRAINING_METRICS[task],
        one_hot=task == MULTICLASS and label_encoding == "one_hot",
        top_k=top_k_for(top_k, n_classes) if task == MULTICLASS else 0,
    )


def top_k_for(requested: int, n_classes: int) -> int:
    """k below the class count: the top-k over all classes is always right."""
    return max(1, min(requested, n_classes - 1))


def _check_output(task: Task, activation: str, from_logits: bool) -> None:
    """The model emits logits: a squashing output or `from_logits: false` would break the loss."""
    if activation != "linear" and from_logits:
        raise ConfigMismatchError(
            f"model.output_activation = {activation} with train.from_logits = true: the loss would "
            "read probabilities as logits and train on the wrong gradient. Fix: set "
            "model.output_activation to linear (the model outputs logits)."
        )
    if activation == "linear" and not from_logits and task != REGRESSION:
        raise ConfigMismatchError(
            "train.from_logits = false with model.output_activation = linear: the loss would read "
            "logits as probabilities. Fix: set train.from_logits to true."
        )
    if activation != "linear":
        raise ConfigMismatchError(
            f"model.output_activation = {activation}: this pipeline's model outputs logits and the "
            "service and evaluation turn them into probabilities. Fix: set "
            "model.output_activation to linear and train.from_logits to true."
        )


def _loss_mismatch(loss: str, task: Task, n_classes: int, label_encoding: str) -> str:
    fix = f"Fix: set train.loss to auto or {default_loss(task, label_encoding)}."
    if task == REGRESSION:
        return (
            f"train.loss = {loss} is a classification loss, but the target is continuous "
            f"(task regression). {fix}"
        )
    if loss in ("mse", "mae"):
        return f"train.loss = {loss} is a regression loss on class labels (task {task}). {fix}"
    if loss == "binary_crossentropy":
        return (
            f"train.loss = binary_crossentropy needs exactly 2 classes, but the target has {n_classes}. {fix}"
        )
    return (
        f"train.loss = {loss} is a multi-class loss, but the target has 2 classes (task "
        f"binary, one logit). {fix}"
    )


def monitorable(spec: LossSpec) -> tuple[str, ...]:
    """Names a callback may monitor: the loss and each metric, on train and validation."""
    names = ("loss", *spec.metrics)
    return names + tuple(f"val_{name}" for name in names)
