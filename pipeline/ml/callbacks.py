"""The Keras callbacks of the training stage, built from params."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import keras

from pipeline.core.config import Train as TrainParams
from pipeline.core.errors import TrainingDiverged

EpochHook = Callable[[int, Mapping[str, float]], None]


class EpochLogger(keras.callbacks.Callback):
    """Hands each epoch's logs (1-based epoch) to a function, e.g. an MLflow logger."""

    def __init__(self, on_epoch: EpochHook) -> None:
        super().__init__()
        self._on_epoch = on_epoch

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._on_epoch(epoch + 1, dict(logs or {}))


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` (training and validation) to each epoch's logs: the figure to
    watch as the data grows, in MLflow beside the curves."""

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class DivergenceGuard(keras.callbacks.Callback):
    """Raise TrainingDiverged on a NaN/infinite loss (any batch) or an exploding epoch loss.

    Raising, not stopping quietly as TerminateOnNaN does by default: a diverged run must fail
    the stage, so nothing is evaluated or registered, and BackupAndRestore's backup of the
    last good epoch stays for the caller to discard.
    """

    def __init__(self, factor: float, first_loss: float | None = None) -> None:
        super().__init__()
        self.factor = factor
        self.first_loss = first_loss  # epoch 1's loss; given when a resumed run continues

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingDiverged(f"the training loss became {float(loss)} in batch {batch + 1}")

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        logs = logs or {}
        for key in ("loss", "val_loss"):
            if key in logs and not math.isfinite(float(logs[key])):
                raise TrainingDiverged(f"{key} became {float(logs[key])} in epoch {epoch + 1}")
        loss = float(logs["loss"])
        if self.first_loss is None:
            self.first_loss = loss
        elif loss > self.factor * self.first_loss:
            raise TrainingDiverged(
                f"the training loss exploded to {loss:.4g} in epoch {epoch + 1}, over "
                f"{self.factor:g}x epoch 1's {self.first_loss:.4g} (train.divergence_factor)"
            )


def build_callbacks(
    params: TrainParams,
    checkpoint: Path,
    on_epoch: EpochHook,
    backup_dir: Path,
    first_loss: float | None = None,
    best_so_far: float | None = None,
) -> list[keras.callbacks.Callback]:
    """The callbacks in the order they must run at each epoch's end.

    The logger comes before BackupAndRestore: an epoch is written down before the backup
    counts it done, so a crash between the two repeats the epoch instead of losing it.
    `best_so_far` is the best monitored value of the epochs a resumed run already has: without
    it the checkpoint would overwrite their better weights with the first epoch after resuming.
    """
    ckpt, stop, plateau = params.checkpoint, params.early_stopping, params.reduce_lr
    return [
        EpochTimer(),
        DivergenceGuard(params.divergence_factor, first_loss),
        keras.callbacks.ModelCheckpoint(
            str(checkpoint),
            monitor=ckpt.monitor,
            mode=ckpt.mode,
            save_best_only=True,
            save_weights_only=True,
            initial_value_threshold=best_so_far,
        ),
        keras.callbacks.EarlyStopping(
            monitor=stop.monitor,
            mode=stop.mode,
            patience=stop.patience,
            min_delta=stop.min_delta,
            restore_best_weights=stop.restore_best_weights,
        ),
        # Before the logger: it writes the current learning rate into `logs`.
        keras.callbacks.ReduceLROnPlateau(
            monitor=plateau.monitor,
            mode=plateau.mode,
            patience=plateau.patience,
            factor=plateau.factor,
            min_lr=plateau.min_lr,
        ),
        EpochLogger(on_epoch),
        # Two states kept: a kill while the latest weights are written (more often, the more
        # inputs the model has) leaves the previous epoch's to resume from.
        keras.callbacks.BackupAndRestore(str(backup_dir), double_checkpoint=True),
    ]


def checkpoint_epoch(history: Mapping[str, Sequence[float]], monitor: str, mode: str) -> int | None:
    """The (1-based) epoch whose weights ModelCheckpoint holds: the first with the best finite value
    of `monitor` (it saves on a strict improvement only, so a tie keeps the earlier epoch).

    None when no epoch has a finite value, i.e. no checkpoint was written. The train stage loads
    this checkpoint after `fit` whether or not EarlyStopping fired, so the model it saves,
    evaluates and registers is always the best-validation one, never merely the last epoch's.
    """
    values = [float(v) for v in history.get(monitor, [])]
    finite = [(v if mode == "min" else -v, epoch) for epoch, v in enumerate(values, 1) if math.isfinite(v)]
    return min(finite)[1] if finite else None


def best_value(history: Mapping[str, Sequence[float]], monitor: str, mode: str) -> float | None:
    """The best finite value of `monitor` so far (what a resumed checkpoint must beat)."""
    epoch = checkpoint_epoch(history, monitor, mode)
    return None if epoch is None else float(history[monitor][epoch - 1])


def early_stopped_epoch(callbacks: list[keras.callbacks.Callback]) -> int | None:
    """The (1-based) last epoch when EarlyStopping ended the run, else None (it ran every epoch):
    the diagnosis must not tell a user to train longer when the callback stopped it."""
    stop = next(c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping))
    return stop.stopped_epoch + 1 if stop.stopped_epoch > 0 else None
