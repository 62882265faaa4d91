import pytest

from pipeline.core.errors import ConfigMismatchError
from pipeline.core.tasks import BINARY, choose_loss, detect_task, monitorable


def test_two_classes_is_binary():
    assert detect_task(2, "y") == BINARY


@pytest.mark.parametrize("n", [1, 3])
def test_other_class_counts_are_refused_with_the_fix(n):
    with pytest.raises(ConfigMismatchError, match=f"'y' has {n} distinct value.*exactly 2 classes"):
        detect_task(n, "y")


def test_binary_loss_is_binary_crossentropy_on_one_logit():
    spec = choose_loss(BINARY)
    assert (spec.loss, spec.from_logits, spec.output_units) == ("BinaryCrossentropy", True, 1)


def test_monitorable_names_train_and_validation_quantities():
    names = monitorable(choose_loss(BINARY))
    assert names == ("loss", "accuracy", "precision", "recall", "auc",
                     "val_loss", "val_accuracy", "val_precision", "val_recall", "val_auc")
