"""Which task a target column poses, and the loss and output layer that task needs.

The model always outputs logits; the loss follows from the task and the label encoding,
always with `from_logits=True` (Keras' own advice: it is numerically stabler than a
sigmoid/softmax output followed by a probability loss).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.core.errors import ConfigMismatchError

BINARY = "binary"


@dataclass(frozen=True)
class LossSpec:
    """A Keras loss by class name, the width of the logits layer, the metrics to compile."""

    loss: str
    from_logits: bool
    output_units: int
    metrics: tuple[str, ...]


def detect_task(n_classes: int, target: str) -> str:
    """Binary is what this pipeline trains today; anything else is refused by name."""
    if n_classes == 2:
        return BINARY
    raise ConfigMismatchError(
        f"data.target {target!r} has {n_classes} distinct value(s); this pipeline trains "
        "binary classifiers, so the target needs exactly 2 classes. Fix: point data.target "
        "at a two-class column (or map your labels to two classes)."
    )


def choose_loss(task: str) -> LossSpec:
    if task == BINARY:
        return LossSpec(
            loss="BinaryCrossentropy",
            from_logits=True,
            output_units=1,
            metrics=("accuracy", "precision", "recall", "auc"),
        )
    raise ConfigMismatchError(f"task {task!r} is not supported; expected {BINARY!r}.")


def monitorable(spec: LossSpec) -> tuple[str, ...]:
    """Names a callback may monitor: the loss and each metric, on train and validation."""
    names = ("loss", *spec.metrics)
    return names + tuple(f"val_{name}" for name in names)
