"""The Keras callbacks of the training stage, built from params."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from pipeline.core.config import Train as TrainParams
from pipeline.core.errors import TrainingDiverged
from pipeline.io.resume import backup_path, backups

EpochHook = Callable[[int, Mapping[str, float]], None]


def write_arrays(path: Path, arrays: Sequence[np.ndarray]) -> None:
    """The arrays' bytes one after another, moved into place whole. No header: the variables
    they are read back into give the shapes and types (`read_arrays`). A third of `np.savez`'s
    cost, which a small table's epoch noticed (a zip entry and a header per array)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writing = path.with_name(f"writing-{path.name}")
    with open(writing, "wb") as file:
        for array in arrays:
            file.write(np.ascontiguousarray(array).data)
    os.replace(writing, path)


def read_arrays(path: Path, variables: Sequence[Any]) -> list[np.ndarray]:
    """What `write_arrays` wrote, one array per variable in its shape and type; an OSError when
    the sizes disagree (a file of another model)."""
    data = path.read_bytes()
    kinds = [(np.dtype(v.dtype), tuple(v.shape)) for v in variables]
    expected = sum(kind.itemsize * math.prod(shape) for kind, shape in kinds)
    if len(data) != expected:
        raise OSError(
            f"{path}: {len(data)} bytes where the model's {len(variables)} variables take {expected}"
        )
    arrays, offset = [], 0
    for kind, shape in kinds:
        count = math.prod(shape)
        arrays.append(np.frombuffer(data, kind, count, offset).reshape(shape).copy())
        offset += kind.itemsize * count
    return arrays


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

    Keras calls the batch hook once per call into TensorFlow (every `steps_per_execution`
    batches) with the epoch's running mean loss so far, which is non-finite as soon as any
    batch's was: a bad batch is still caught, by the end of the call that ran it.

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
            raise TrainingDiverged(f"the training loss became {float(loss)} by batch {batch + 1}")

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


def stopping(params: TrainParams) -> list[keras.callbacks.Callback]:
    """EarlyStopping and ReduceLROnPlateau as `train` sets them: the train stage's, and a search
    trial's (pipeline/short_fit.py), so a trial ends and anneals as the retraining of its winner will.

    EarlyStopping restores nothing: in the stage BestWeights holds the best epoch whatever
    stopped the run (`restore_best_weights` decides whether the model keeps it), and a trial
    reports its curve, not its weights; a copy of the weights at each improvement would only
    cost time."""
    stop, plateau = params.early_stopping, params.reduce_lr
    return [
        keras.callbacks.EarlyStopping(
            monitor=stop.monitor,
            mode=stop.mode,
            patience=stop.patience,
            min_delta=stop.min_delta,
            restore_best_weights=False,
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor=plateau.monitor,
            mode=plateau.mode,
            patience=plateau.patience,
            factor=plateau.factor,
            min_lr=plateau.min_lr,
        ),
    ]


def build_callbacks(
    params: TrainParams,
    checkpoint: Path,
    on_epoch: EpochHook,
    backup_dir: Path,
    first_loss: float | None = None,
    best_so_far: float | None = None,
    worker_scratch: Path | None = None,
    write_checkpoint: bool = True,
) -> list[keras.callbacks.Callback]:
    """The callbacks in the order they must run at each epoch's end.

    `worker_scratch`: a multi-worker run's non-chief worker resumes from the chief's backup
    like the chief, then writes its own backups there, never into the chief's.

    The logger comes before BackupAndRestore: an epoch is written down before the backup
    counts it done, so a crash between the two repeats the epoch instead of losing it.
    `best_so_far` is the best monitored value of the epochs a resumed run already has: without
    it the checkpoint would overwrite their better weights with the first epoch after resuming.
    `write_checkpoint=False`: the caller writes `checkpoint` itself (BestWeights).
    """
    ckpt = params.checkpoint
    return [
        EpochTimer(),
        DivergenceGuard(params.divergence_factor, first_loss),
        BestWeights(
            str(checkpoint),
            monitor=ckpt.monitor,
            mode=ckpt.mode,
            save_best_only=True,
            save_weights_only=True,
            initial_value_threshold=best_so_far,
            resumed=best_so_far is not None,
            write_at_end=write_checkpoint,
        ),
        # Before the logger: ReduceLROnPlateau writes the current learning rate into `logs`.
        *stopping(params),
        EpochLogger(on_epoch),
        FastBackup(str(backup_dir))
        if worker_scratch is None
        else RestoreOnly(str(backup_dir), str(worker_scratch)),
    ]


class BestWeights(keras.callbacks.ModelCheckpoint):
    """ModelCheckpoint (best `monitor`, weights only) that keeps the best weights in memory,
    stashes their raw bytes beside the checkpoint on each improvement, and writes the
    checkpoint itself once, when training ends.

    Keras' `save_weights` walks the whole model object by object: about 140 ms for a model with
    30 inputs, several times a small table's epoch; copying the weights and writing their bytes
    take well under 1 ms each for the default model. The stash is what a resumed run starts
    from (`resumed=True`): a run killed before its end never wrote the checkpoint, and the best
    epoch may be one before the kill.

    `write_at_end=False` leaves the checkpoint to the caller, who has the weights (`kept`) and
    saves the model with them anyway: the train stage copies the checkpoint out of the saved
    `.keras` file (ml/keras_file.py), one walk of the model instead of two.
    """

    def __init__(self, *args: Any, resumed: bool = False, write_at_end: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_at_end = write_at_end
        self._best_weights: list | None = None
        self.holds_best = False  # after training: the checkpoint holds a best epoch's weights
        self.kept: list | None = None  # after training: the weights the checkpoint holds
        self._resumed = resumed
        self.stash = Path(self.filepath).with_suffix(".bin")

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        super().on_train_begin(logs)
        if self._resumed and self.stash.is_file():
            self._best_weights = read_arrays(self.stash, self.model.weights)
        else:  # an earlier run's best is not this run's
            self.stash.unlink(missing_ok=True)

    def _save_model(self, epoch, batch, logs) -> None:
        if self._should_save_model(epoch, batch, logs, self.filepath):
            self._best_weights = self.model.get_weights()
            write_arrays(self.stash, self._best_weights)

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        """Keep the best weights, or the last epoch's when none was kept (`holds_best` says
        which), and write them unless the caller does: always, so that every worker of a
        multi-worker run does the same reads of its synchronised variables as the chief, in step."""
        current = self.model.get_weights()
        self.holds_best = self._best_weights is not None
        self.kept = self._best_weights if self._best_weights is not None else current
        if self._write_at_end:
            self.model.set_weights(self.kept)
            self.model.save_weights(self.filepath, overwrite=True)
            self.model.set_weights(current)
        self.stash.unlink(missing_ok=True)  # training is over: nothing resumes from it

    def keep(self) -> None:
        """After training: give the model the weights the checkpoint holds, from memory (reading
        the `.h5` back would walk the model object by object again)."""
        if self.kept is not None:
            self.model.set_weights(self.kept)


class FastBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore (weights, optimizer state, epoch) kept as one file per state, the
    variables' raw bytes (`write_arrays`) named by the epochs done (io/resume.backups): about
    2 ms an epoch for the default model with its optimizer state, where Keras' `.weights.h5`
    takes 140 ms (see BestWeights). The new state is in place before the old one goes, so a
    kill at any moment leaves a whole one to resume from."""

    def _variables(self) -> list:
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        return [*self.model.weights, *(optimizer.variables if optimizer is not None else [])]

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        found = backups(Path(self.backup_dir))
        if not found:
            return
        epoch, path = found[0]
        variables = self._variables()
        for variable, value in zip(variables, read_arrays(path, variables), strict=True):
            variable.assign(value)
        self.model._initial_epoch = epoch

    def _save_model(self) -> None:
        folder = Path(self.backup_dir)
        older = backups(folder)
        # `.numpy()`: a third faster than `np.asarray`, which goes through `__array__`.
        write_arrays(backup_path(folder, self._current_epoch), [v.numpy() for v in self._variables()])
        for epoch, path in older:
            if epoch != self._current_epoch:
                path.unlink(missing_ok=True)


class RestoreOnly(FastBackup):
    """FastBackup that restores (weights, optimizer, epoch) from the chief's backup, then
    backs up into a scratch folder of its own. A non-chief worker must still save when the
    chief does: saving reads variables that are synchronised across the workers, and a worker
    that skipped it would leave the chief waiting (Keras' multi-worker guide: temporary dirs)."""

    def __init__(self, backup_dir: str, scratch_dir: str) -> None:
        super().__init__(backup_dir)
        self.scratch_dir = scratch_dir

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        super().on_train_begin(logs)
        self.backup_dir = self.scratch_dir  # what it saves from now on, and deletes at the end


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
