import numpy as np
import pandas as pd
import pytest

from pipeline.core.errors import ConfigMismatchError, DataError
from pipeline.core.tasks import BINARY, MULTICLASS, REGRESSION, choose_loss, detect_task, monitorable


def target(values) -> pd.Series:
    return pd.Series(values, name="y")


@pytest.mark.parametrize(
    ("values", "task", "reason"),
    [
        ([0, 1, 1, 0], BINARY, "auto: 2 distinct integer values (at most data.max_classes = 20)"),
        (["yes", "no", "no"], BINARY, "auto: 2 distinct non-numeric labels"),
        ([True, False, True], BINARY, "auto: 2 distinct non-numeric labels"),
        (["a", "b", "c", "a"], MULTICLASS, "auto: 3 distinct non-numeric labels"),
        ([0, 1, 2, 3, 3], MULTICLASS, "auto: 4 distinct integer values (at most data.max_classes = 20)"),
        ([1.0, 2.0, 3.0], MULTICLASS, "auto: 3 distinct integer values (at most data.max_classes = 20)"),
        ([0.5, 1.25, 3.0], REGRESSION, "auto: 3 distinct real values (with fractional parts)"),
        (list(range(25)), REGRESSION, "auto: 25 distinct integer values (more than data.max_classes = 20)"),
    ],
)
def test_auto_decides_from_the_target_and_says_why(values, task, reason):
    choice = detect_task(target(values), "auto", max_classes=20)
    assert (choice.task, choice.reason) == (task, reason)


def test_an_explicit_task_that_fits_is_kept_with_its_reason():
    choice = detect_task(target(list(range(25))), MULTICLASS, max_classes=20)
    assert (choice.task, choice.reason) == (
        MULTICLASS,
        "data.task = multiclass (25 distinct integer values (more than data.max_classes = 20))",
    )


def test_a_constant_target_is_refused():
    with pytest.raises(DataError, match="'y' has 1 distinct value"):
        detect_task(target([1, 1, 1]), "auto", 20)


@pytest.mark.parametrize(
    ("values", "requested", "message"),
    [
        (
            ["a", "b", "c"],
            REGRESSION,
            "a regression loss on class labels.*Fix: set data.task to auto or multiclass",
        ),
        ([0, 1, 0], REGRESSION, r"class labels \(two values\).*Fix: set data.task to auto or binary"),
        (
            [0.5, 1.5, 2.25],
            BINARY,
            "a classification loss on a continuous target.*Fix: set data.task to regression",
        ),
        ([0.5, 1.5, 2.25], MULTICLASS, "a classification loss on a continuous target"),
        (
            ["a", "b", "c"],
            BINARY,
            "data.task = binary, but .* has 3 classes. Fix: set data.task to multiclass",
        ),
        ([0, 1, 1], MULTICLASS, "has only 2 classes. Fix: set data.task to binary"),
    ],
)
def test_a_task_that_does_not_fit_the_target_is_refused(values, requested, message):
    with pytest.raises(ConfigMismatchError, match=message):
        detect_task(target(values), requested, 20)


@pytest.mark.parametrize(
    ("task", "n", "encoding", "expected"),
    [
        (BINARY, 2, "integer", ("BinaryCrossentropy", True, 1, False)),
        (MULTICLASS, 3, "integer", ("SparseCategoricalCrossentropy", True, 3, False)),
        (MULTICLASS, 10, "one_hot", ("CategoricalCrossentropy", True, 10, True)),
        (REGRESSION, 0, "integer", ("MeanSquaredError", False, 1, False)),
    ],
)
def test_auto_loss_per_task_and_encoding(task, n, encoding, expected):
    spec = choose_loss(task, n, "auto", encoding)
    assert (spec.loss, spec.from_logits, spec.output_units, spec.one_hot) == expected


def test_regression_may_use_mae_and_top_k_is_capped_below_the_class_count():
    assert choose_loss(REGRESSION, 0, "mae").loss == "MeanAbsoluteError"
    assert choose_loss(MULTICLASS, 3, top_k=5).top_k == 2
    assert choose_loss(MULTICLASS, 10, top_k=5).top_k == 5


@pytest.mark.parametrize(
    ("task", "n", "loss", "encoding", "message"),
    [
        (
            MULTICLASS,
            3,
            "categorical_crossentropy",
            "integer",
            "expects one-hot labels, but data.label_encoding = integer. Fix: set train.loss to "
            "sparse_categorical_crossentropy",
        ),
        (
            MULTICLASS,
            3,
            "sparse_categorical_crossentropy",
            "one_hot",
            "expects integer labels, but data.label_encoding = one_hot. Fix: set train.loss to "
            "categorical_crossentropy",
        ),
        (
            MULTICLASS,
            4,
            "binary_crossentropy",
            "integer",
            "needs exactly 2 classes, but the target has 4. Fix: set train.loss to auto or "
            "sparse_categorical_crossentropy",
        ),
        (BINARY, 2, "mse", "integer", "mse is a regression loss on class labels"),
        (MULTICLASS, 3, "mae", "integer", "mae is a regression loss on class labels"),
        (
            REGRESSION,
            0,
            "binary_crossentropy",
            "integer",
            "is a classification loss, but the target is continuous.*Fix: set train.loss to auto or mse",
        ),
        (BINARY, 2, "sparse_categorical_crossentropy", "integer", "a multi-class loss, but the target has 2"),
    ],
)
def test_a_loss_that_does_not_match_the_labels_is_refused(task, n, loss, encoding, message):
    with pytest.raises(ConfigMismatchError, match=message):
        choose_loss(task, n, loss, encoding)


@pytest.mark.parametrize(
    ("activation", "from_logits", "message"),
    [
        ("sigmoid", True, "would read probabilities as logits.*Fix: set model.output_activation to linear"),
        ("softmax", True, "would read probabilities as logits"),
        ("linear", False, "would read logits as probabilities. Fix: set train.from_logits to true"),
        ("softmax", False, "this pipeline's model outputs logits"),
    ],
)
def test_from_logits_must_match_the_output_activation(activation, from_logits, message):
    with pytest.raises(ConfigMismatchError, match=message):
        choose_loss(MULTICLASS, 3, output_activation=activation, from_logits=from_logits)


def test_one_hot_targets_for_categorical_crossentropy():
    spec = choose_loss(MULTICLASS, 3, "categorical_crossentropy", "one_hot")
    np.testing.assert_array_equal(spec.targets(np.array([2, 0])), [[0, 0, 1], [1, 0, 0]])
    assert choose_loss(MULTICLASS, 3).targets(np.array([2, 0])).tolist() == [2, 0]


def test_monitorable_names_train_and_validation_quantities():
    assert monitorable(choose_loss(BINARY, 2)) == (
        "loss",
        "accuracy",
        "precision",
        "recall",
        "auc",
        "val_loss",
        "val_accuracy",
        "val_precision",
        "val_recall",
        "val_auc",
    )
    assert monitorable(choose_loss(REGRESSION, 0)) == (
        "loss",
        "mae",
        "rmse",
        "val_loss",
        "val_mae",
        "val_rmse",
    )
