"""Short fits on the prepared training and validation splits: what `make lr-find` and `make tune` share.

Each fit builds the model exactly as the train stage does (the same preprocessing, loss, optimizer,
tf.data inputs and epoch settings, imported from it), from the same seed, for a few epochs, and keeps
only its curves: no checkpoint, no backup, no model file. The holdout split is never opened here:
the statistics come from the training split, the curves from the training and validation splits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.core.config import Params
from pipeline.core.contract import Contract
from pipeline.core.errors import PipelineError, TrainingDiverged
from pipeline.core.schema import Schema
from pipeline.core.stats import FeatureStats, feature_contract
from pipeline.core.tasks import LossSpec
from pipeline.io import paths
from pipeline.io.data import read_schema
from pipeline.stages.train import check_before_training, inputs, training_stats


@dataclass(frozen=True)
class Prepared:
    """What every fit of one search shares, computed once: the schema, the loss, the model's contract."""

    schema: Schema
    spec: LossSpec
    stats: FeatureStats
    contract: Contract


@dataclass(frozen=True)
class Fit:
    """One short fit's curves: a row per epoch (epoch, loss, val_loss, ..., learning_rate)."""

    history: list[dict[str, float]]
    diverged: str | None  # the divergence guard's message, when it stopped the fit
    seconds: float

    def columns(self) -> dict[str, list[float]]:
        """The rows as a Keras History (name -> one value per epoch), what the diagnosis reads."""
        names = [name for name in self.history[0] if name != "epoch"] if self.history else []
        return {name: [row.get(name, math.nan) for row in self.history] for name in names}

    @property
    def best_val_loss(self) -> float:
        finite = [row["val_loss"] for row in self.history if math.isfinite(row.get("val_loss", math.nan))]
        return min(finite) if finite else math.inf


def prepared(params: Params) -> Prepared:
    """The prepared splits' schema and the training statistics, after the train stage's own checks."""
    if not paths.SCHEMA.exists():
        raise PipelineError(
            f"{paths.SCHEMA} not found: the search reads the prepared training and validation splits. "
            "Fix: run `dvc repro prepare` first (make lr-find and make tune do)."
        )
    schema = read_schema()
    spec = check_before_training(params, schema)
    stats = training_stats(schema, params.base.seed)
    return Prepared(schema, spec, stats, feature_contract(schema, stats, params.model.embed_above))


def fit(
    params: Params, data: Prepared, epochs: int, callbacks: Sequence = (), like_train: bool = False
) -> Fit:
    """Fit `params`' model for up to `epochs` epochs and return its curves.

    `like_train` adds the train stage's EarlyStopping and ReduceLROnPlateau (as params.train sets them),
    so a search trial ends and anneals as the retraining of its winner will; a learning-rate fit runs
    without them, its rate constant. `callbacks` run after each epoch is recorded. A diverging fit stops
    at once; its last epoch is recorded as NaN so the diagnosis calls it diverged.
    """
    import keras

    from pipeline.ml.callbacks import DivergenceGuard, EpochLogger, stopping
    from pipeline.ml.model import build_model, compile_model, seed_everything

    keras.backend.clear_session()  # one graph per fit: a long search does not slow down
    seed_everything(params.base.seed)
    train_data, val_data, settings = inputs(params, data.schema, data.spec, data.contract)
    model = build_model(data.contract, data.spec, params.model, data.stats.target)
    compile_model(model, data.spec, params.train, settings["steps_per_execution"])
    rows: list[dict[str, float]] = []

    def record(epoch: int, logs) -> None:
        rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        rows.append({"epoch": float(epoch), **{k: float(v) for k, v in logs.items()}, "learning_rate": rate})

    steering = stopping(params.train) if like_train else []
    started = time.perf_counter()
    diverged = None
    try:
        model.fit(
            train_data,
            validation_data=val_data,
            epochs=epochs,
            steps_per_epoch=settings["steps_per_epoch"],
            callbacks=[
                DivergenceGuard(params.train.divergence_factor),
                *steering,
                EpochLogger(record),
                *callbacks,
            ],
            shuffle=False,
            verbose=0,
        )
    except TrainingDiverged as exc:
        diverged = str(exc)
        rows.append(
            {
                "epoch": float(len(rows) + 1),
                "loss": math.nan,
                "val_loss": math.nan,
                "learning_rate": params.train.learning_rate,
            }
        )
    return Fit(rows, diverged, time.perf_counter() - started)
