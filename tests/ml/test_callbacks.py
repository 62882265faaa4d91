"""pipeline/ml/callbacks.py: the training stage's callbacks, each called as Keras calls it."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from pipeline.core.config import Train
from pipeline.core.errors import TrainingDiverged
from pipeline.ml.callbacks import (
    BestWeights,
    DivergenceGuard,
    EpochLogger,
    EpochTimer,
    FastBackup,
    RestoreOnly,
    best_value,
    build_callbacks,
    checkpoint_epoch,
    early_stopped_epoch,
    read_arrays,
    write_arrays,
)


def test_the_logger_hands_on_one_based_epochs_and_a_copy_of_the_logs():
    seen = []
    logger = EpochLogger(lambda epoch, logs: seen.append((epoch, logs)))
    logs = {"loss": 0.5}
    logger.on_epoch_end(0, logs)
    logger.on_epoch_end(1, None)
    assert seen == [(1, {"loss": 0.5}), (2, {})]
    assert seen[0][1] is not logs


def test_the_timer_adds_epoch_seconds():
    timer = EpochTimer()
    timer.on_epoch_begin(0)
    logs = {"loss": 0.5}
    timer.on_epoch_end(0, logs)
    assert set(logs) == {"loss", "epoch_seconds"} and 0 <= logs["epoch_seconds"] < 5
    timer.on_epoch_end(0, None)  # nothing to write into: nothing happens


@pytest.mark.parametrize("loss", [math.nan, math.inf, -math.inf])
def test_a_non_finite_batch_loss_fails_the_run(loss):
    guard = DivergenceGuard(factor=10)
    guard.on_train_batch_end(0, {"loss": 0.5})
    guard.on_train_batch_end(1, None)
    with pytest.raises(TrainingDiverged, match=f"the training loss became {loss} by batch 3"):
        guard.on_train_batch_end(2, {"loss": loss})


@pytest.mark.parametrize("key", ["loss", "val_loss"])
def test_a_non_finite_epoch_loss_fails_the_run(key):
    logs = {"loss": 0.5, "val_loss": 0.5, key: math.nan}
    with pytest.raises(TrainingDiverged, match=f"{key} became nan in epoch 4"):
        DivergenceGuard(factor=10).on_epoch_end(3, logs)


def test_an_exploding_loss_fails_the_run_against_epoch_ones():
    guard = DivergenceGuard(factor=10)
    guard.on_epoch_end(0, {"loss": 2.0})
    guard.on_epoch_end(1, {"loss": 20.0})  # 10x: not over
    with pytest.raises(TrainingDiverged, match=r"exploded to 20\.1 in epoch 3, over 10x epoch 1's 2 "):
        guard.on_epoch_end(2, {"loss": 20.1})


def test_a_resumed_run_compares_with_the_first_runs_epoch_one():
    guard = DivergenceGuard(factor=2, first_loss=1.0)
    with pytest.raises(TrainingDiverged, match="over 2x epoch 1's 1"):
        guard.on_epoch_end(5, {"loss": 2.5})


def test_callbacks_run_in_the_order_the_backup_needs(tmp_path):
    callbacks = build_callbacks(
        Train(), tmp_path / "best.weights.h5", lambda epoch, logs: None, tmp_path / "bk"
    )
    kinds = [type(c) for c in callbacks]
    assert kinds == [
        EpochTimer,
        DivergenceGuard,
        BestWeights,
        keras.callbacks.EarlyStopping,
        keras.callbacks.ReduceLROnPlateau,
        EpochLogger,
        FastBackup,
    ]
    assert isinstance(callbacks[2], keras.callbacks.ModelCheckpoint)
    assert isinstance(callbacks[-1], keras.callbacks.BackupAndRestore)


def test_params_reach_the_keras_callbacks(tmp_path):
    params = Train.model_validate(
        {
            "divergence_factor": 4,
            "early_stopping": {"patience": 7, "min_delta": 0.01},
            "reduce_lr": {"patience": 2, "factor": 0.25, "min_lr": 1e-5},
        }
    )
    callbacks = build_callbacks(
        params, tmp_path / "best.weights.h5", lambda e, logs: None, tmp_path / "bk", 0.3
    )
    guard, stop, plateau = callbacks[1], callbacks[3], callbacks[4]
    assert (guard.factor, guard.first_loss) == (4, 0.3)
    assert (stop.patience, stop.min_delta) == (7, 0.01)
    assert (plateau.patience, plateau.factor, plateau.min_lr) == (2, 0.25, 1e-5)


def stopping(stopped_epoch: int) -> list[keras.callbacks.Callback]:
    stop = keras.callbacks.EarlyStopping()
    stop.stopped_epoch = stopped_epoch
    return [EpochTimer(), stop]


def test_early_stopped_epoch_is_one_based_and_none_when_every_epoch_ran():
    assert early_stopped_epoch(stopping(9)) == 10
    assert early_stopped_epoch(stopping(0)) is None


@pytest.mark.parametrize(
    ("values", "mode", "epoch"),
    [
        ([0.5, 0.3, 0.4, 0.3, 0.6], "min", 2),  # a tie keeps the earlier epoch (a strict improvement saves)
        ([0.5, 0.3, math.nan, 0.2], "min", 4),  # NaN is never saved
        ([0.7, 0.9, 0.9, 0.8], "max", 2),
        ([math.nan, math.inf], "min", None),  # nothing finite: no checkpoint
        ([], "min", None),
    ],
)
def test_checkpoint_epoch_is_the_first_best_finite_value(values, mode, epoch):
    assert checkpoint_epoch({"val_loss": values}, "val_loss", mode) == epoch


def test_best_value_is_what_a_resumed_checkpoint_must_beat(tmp_path):
    assert best_value({"val_loss": [0.5, 0.3, 0.4]}, "val_loss", "min") == 0.3
    assert best_value({"val_loss": [math.nan]}, "val_loss", "min") is None
    callbacks = build_callbacks(
        Train(), tmp_path / "best.weights.h5", lambda e, logs: None, tmp_path / "bk", 0.7, 0.3
    )
    checkpoint = next(c for c in callbacks if isinstance(c, keras.callbacks.ModelCheckpoint))
    assert checkpoint.best == 0.3  # an epoch after resuming is saved only if it beats the earlier best


def test_a_non_chief_worker_restores_the_chiefs_backup_and_backs_up_into_its_own_folder(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    chief = FastBackup(str(tmp_path / "bk"))
    chief.set_model(model)
    chief.on_epoch_end(2)  # the chief has finished 3 epochs
    written = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "bk").iterdir()}
    worker = build_callbacks(
        Train(),
        tmp_path / "w.weights.h5",
        lambda e, logs: None,
        tmp_path / "bk",
        worker_scratch=tmp_path / "mine",
    )[-1]
    assert isinstance(worker, RestoreOnly)
    other = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    other.compile(optimizer="sgd", loss="mse")
    worker.set_model(other)
    worker.on_train_begin()
    assert other._initial_epoch == 3
    assert np.allclose(other.get_weights()[0], model.get_weights()[0])
    worker.on_epoch_end(3)
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["epoch-4.bin"]  # its own backups
    worker.on_train_end()
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "bk").iterdir()} == written
    assert not (tmp_path / "mine").exists()


def tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_the_best_weights_are_kept_in_memory_and_written_once_at_the_end(tmp_path):
    model, path = tiny_model(), tmp_path / "best.weights.h5"
    best = BestWeights(str(path), monitor="val_loss", save_best_only=True, save_weights_only=True)
    best.set_model(model)
    best.on_epoch_end(0, {"val_loss": 0.5})
    kept = [w.copy() for w in model.get_weights()]
    model.set_weights([w + 1 for w in kept])
    best.on_epoch_end(1, {"val_loss": 0.9})  # worse: not kept
    assert not path.exists()
    best.on_train_end()
    assert np.allclose(model.get_weights()[0], kept[0] + 1)  # the model keeps its own weights
    other = tiny_model()
    other.load_weights(path)
    assert np.allclose(other.get_weights()[0], kept[0])


def test_the_fast_backup_restores_weights_optimizer_and_epoch_from_its_newest_state(tmp_path):
    model = tiny_model()
    model.fit(np.ones((4, 2)), np.ones(4), epochs=2, verbose=0)  # optimizer state to restore
    backup = FastBackup(str(tmp_path / "bk"))
    backup.set_model(model)
    backup.on_epoch_end(0)
    assert [p.name for p in (tmp_path / "bk").iterdir()] == ["epoch-1.bin"]
    backup.on_epoch_end(1)
    assert [p.name for p in (tmp_path / "bk").iterdir()] == ["epoch-2.bin"]  # the older one goes
    other = tiny_model()
    restored = FastBackup(str(tmp_path / "bk"))
    restored.set_model(other)
    restored.on_train_begin()
    assert other._initial_epoch == 2
    assert all(np.allclose(a, b) for a, b in zip(other.get_weights(), model.get_weights(), strict=True))
    assert int(other.optimizer.iterations) == int(model.optimizer.iterations) == 2
    restored.on_train_end()
    assert not (tmp_path / "bk").exists()  # a finished training leaves nothing to resume


def test_a_kill_while_the_next_state_is_written_resumes_the_one_before(tmp_path):
    """What a kill at any point of a save leaves: the half-written file is never a backup, and
    the older state goes only once the newer one is in place."""
    model = tiny_model()
    backup = FastBackup(str(tmp_path / "bk"))
    backup.set_model(model)
    backup.on_epoch_end(2)
    kept = [w.copy() for w in model.get_weights()]
    (tmp_path / "bk" / "writing-epoch-4.bin").write_bytes(b"\0" * 3)  # killed while writing
    for killed_before_the_old_one_went in (False, True):
        if killed_before_the_old_one_went:
            (tmp_path / "bk" / "epoch-4.bin").write_bytes((tmp_path / "bk" / "epoch-3.bin").read_bytes())
        other = tiny_model()
        restored = FastBackup(str(tmp_path / "bk"))
        restored.set_model(other)
        restored.on_train_begin()
        assert other._initial_epoch == (4 if killed_before_the_old_one_went else 3)
        assert np.allclose(other.get_weights()[0], kept[0])
    restored.on_epoch_end(4)  # the next save leaves one state
    assert sorted(p.name for p in (tmp_path / "bk").glob("epoch-*")) == ["epoch-5.bin"]


def test_a_resumed_run_starts_from_the_stashed_best_and_a_fresh_one_forgets_it(tmp_path):
    model, path = tiny_model(), tmp_path / "best.weights.h5"
    first = BestWeights(str(path), monitor="val_loss", save_best_only=True, save_weights_only=True)
    first.set_model(model)
    first.on_train_begin()
    first.on_epoch_end(0, {"val_loss": 0.5})  # the best, then the run is killed: no checkpoint
    best = [w.copy() for w in model.get_weights()]
    assert first.stash.is_file() and not path.exists()

    model.set_weights([w + 1 for w in best])
    resumed = BestWeights(
        str(path),
        monitor="val_loss",
        save_best_only=True,
        save_weights_only=True,
        initial_value_threshold=0.5,
        resumed=True,
    )
    resumed.set_model(model)
    resumed.on_train_begin()
    resumed.on_epoch_end(1, {"val_loss": 0.7})  # worse than before the kill
    resumed.on_train_end()
    assert resumed.holds_best and not resumed.stash.exists()
    other = tiny_model()
    other.load_weights(path)
    assert np.allclose(other.get_weights()[0], best[0])  # the epoch before the kill

    fresh = BestWeights(str(path), monitor="val_loss", save_best_only=True, save_weights_only=True)
    fresh.set_model(model)
    first.on_epoch_end(0, {"val_loss": 0.1})  # a stash left behind by an earlier run
    fresh.on_train_begin()
    assert not fresh.stash.exists()
    fresh.on_train_end()  # nothing kept: the last weights are written, and said to be so
    assert not fresh.holds_best
    other.load_weights(path)
    assert np.allclose(other.get_weights()[0], best[0] + 1)


def test_the_checkpoint_left_to_the_caller_is_the_saved_models_weights(tmp_path):
    """The train stage writes no second walk of the model: BestWeights keeps the weights, the
    model is saved with them, and the checkpoint is copied out of the saved file."""
    from pipeline.ml.keras_file import copy_weights

    model, path = tiny_model(), tmp_path / "best.weights.h5"
    best = BestWeights(
        str(path), monitor="val_loss", save_best_only=True, save_weights_only=True, write_at_end=False
    )
    best.set_model(model)
    best.on_epoch_end(0, {"val_loss": 0.5})
    kept = [w.copy() for w in model.get_weights()]
    model.set_weights([w + 1 for w in kept])
    best.on_train_end()
    assert not path.exists() and best.holds_best
    best.keep()
    model.save(tmp_path / "model.keras")
    copy_weights(tmp_path / "model.keras", path)
    other = tiny_model()
    other.load_weights(path)
    assert all(np.array_equal(a, b) for a, b in zip(other.get_weights(), kept, strict=True))


def test_arrays_written_raw_come_back_in_the_variables_shapes_and_types(tmp_path):
    model = tiny_model()
    model.fit(np.ones((4, 2)), np.ones(4), epochs=1, verbose=0)
    variables = [*model.weights, *model.optimizer.variables]  # float32 and the int64 step count
    values = [v.numpy() + 0.5 if v.dtype == "float32" else v.numpy() + 7 for v in variables]
    write_arrays(tmp_path / "w.bin", values)
    back = read_arrays(tmp_path / "w.bin", variables)
    assert [(a.dtype, a.shape) for a in back] == [(a.dtype, a.shape) for a in values]
    assert all(np.array_equal(a, b) for a, b in zip(back, values, strict=True))
    assert not list(tmp_path.glob("writing-*"))

    with pytest.raises(OSError, match=r"w\.bin: \d+ bytes where the model's 2 variables take 12"):
        read_arrays(tmp_path / "w.bin", model.weights)
