"""The Keras callbacks of the training stage, built from params."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import keras

from pipeline.core.config import Train as TrainParams

EpochHook = Callable[[int, Mapping[str, float]], None]


class EpochLogger(keras.callbacks.Callback):
    """Hands each epoch's logs (1-based epoch) to a function, e.g. an MLflow logger."""

    def __init__(self, on_epoch: EpochHook) -> None:
        super().__init__()
        self._on_epoch = on_epoch

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._on_epoch(epoch + 1, dict(logs or {}))


def build_callbacks(
    params: TrainParams, checkpoint: Path, on_epoch: EpochHook
) -> list[keras.callbacks.Callback]:
    ckpt, stop, plateau = params.checkpoint, params.early_stopping, params.reduce_lr
    return [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.ModelCheckpoint(
            str(checkpoint), monitor=ckpt.monitor, mode=ckpt.mode,
            save_best_only=True, save_weights_only=True,
        ),
        keras.callbacks.EarlyStopping(
            monitor=stop.monitor, mode=stop.mode, patience=stop.patience,
            min_delta=stop.min_delta, restore_best_weights=stop.restore_best_weights,
        ),
        # Before the logger: it writes the current learning rate into `logs`.
        keras.callbacks.ReduceLROnPlateau(
            monitor=plateau.monitor, mode=plateau.mode, patience=plateau.patience,
            factor=plateau.factor, min_lr=plateau.min_lr,
        ),
        EpochLogger(on_epoch),
    ]


def kept_weights_epoch(callbacks: list[keras.callbacks.Callback], epochs_run: int) -> int:
    """The (1-based) epoch whose weights the model holds after `fit`.

    EarlyStopping restores its best epoch (judged with its own min_delta) only when it stopped
    the run and restore_best_weights is on; otherwise the model keeps the last epoch's.
    """
    stop = next(c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping))
    if stop.restore_best_weights and stop.stopped_epoch > 0:
        return stop.best_epoch + 1
    return epochs_run
