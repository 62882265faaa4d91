"""Stage `train`: fit the Keras model with callbacks, all of it recorded in one MLflow run.

A training killed half-way (a preempted GPU runner, `kill -9`) resumes on the next run from
its last completed epoch, in the same MLflow run, with one unbroken history. A diverging
one fails the stage: nothing is evaluated or registered, and the champion stays.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipeline.core.cluster import SOLO, Cluster, parse_tf_config
from pipeline.core.config import Params, fingerprint, flatten
from pipeline.core.contract import Contract
from pipeline.core.diagnosis import diagnose
from pipeline.core.epoch_order import epoch_order, shard
from pipeline.core.epochs import (
    MEMORY,
    STREAM,
    check_multi_worker,
    choose_input,
    steps_per_execution,
    worker_batch,
)
from pipeline.core.errors import ConfigMismatchError, TrainingDiverged
from pipeline.core.metrics import decisive_metric
from pipeline.core.schema import Schema
from pipeline.core.stats import FeatureStats, feature_contract
from pipeline.core.tasks import REGRESSION, LossSpec, choose_loss, monitorable
from pipeline.io import dataset_logging, paths, provenance, tracking
from pipeline.io.cli import run_and_exit, run_stage
from pipeline.io.data import (
    SHUFFLE_ROWS,
    columns_of,
    read_schema,
    read_split,
    split_blocks,
    split_group_rows,
    split_rows,
    split_tables,
    write_contract,
)
from pipeline.io.figures import plot_curves
from pipeline.io.files import atomic_path, write_json, write_text
from pipeline.io.params import load_params
from pipeline.io.resume import ResumeState

if TYPE_CHECKING:
    from pipeline.ml.callbacks import BestWeights


def check_monitors(params: Params, spec: LossSpec) -> None:
    """A callback watching a quantity Keras never logs would silently do nothing."""
    available = monitorable(spec)
    train = params.train
    for key, section in (
        ("checkpoint", train.checkpoint),
        ("early_stopping", train.early_stopping),
        ("reduce_lr", train.reduce_lr),
    ):
        if section.monitor not in available:
            raise ConfigMismatchError(
                f"train.{key}.monitor = {section.monitor!r} is never logged. "
                f"Fix: use one of {', '.join(available)}."
            )


def loss_spec(params: Params, schema: Schema) -> LossSpec:
    """The loss for this table and params: the classic mistakes are refused here, before Keras."""
    return choose_loss(
        schema.task,
        len(schema.class_labels),
        params.train.loss,
        params.data.label_encoding,
        params.model.output_activation,
        params.train.from_logits,
        params.train.top_k,
    )


def check_before_training(params: Params, schema: Schema) -> LossSpec:
    """Every cheap check, so a wrong setting costs no TensorFlow start-up and no MLflow run."""
    spec = loss_spec(params, schema)
    check_monitors(params, spec)
    decisive_metric(params.registry.metric, schema.task)  # register would refuse it after training
    if params.train.distribute == "multi_worker" and not os.environ.get("TF_CONFIG"):
        raise ConfigMismatchError(
            "train.distribute = multi_worker needs TF_CONFIG naming the workers and this one's "
            "index. Fix: set TF_CONFIG on every worker, or use mirrored (one host) or none."
        )
    if params.train.distribute == "multi_worker":
        parse_tf_config(os.environ["TF_CONFIG"])  # malformed: refused before TensorFlow starts
        check_multi_worker(params.train.steps_per_execution)
    return spec


def run_name(params: Params, experiment: str | None = None) -> str:
    """Readable in the UI's runs table: the DVC experiment, the data and the key params."""
    units = "x".join(map(str, params.model.hidden_units))
    train = params.train
    name = (
        f"{Path(params.data.path).stem}-{train.optimizer}-lr{train.learning_rate:g}"
        f"-bs{train.batch_size}-mlp{units}"
    )
    return f"{experiment}:{name}" if experiment else name


def training_stats(schema: Schema, seed: int) -> FeatureStats:
    """One streamed pass over the training split: what the model's preprocessing (medians,
    vocabularies, normalisation) and, for a regression, the output's rescaling are built from.
    Only the training split: validation and holdout rows stay unseen."""
    stats = FeatureStats(schema.kinds, seed=seed)
    for table in split_tables("train", [*schema.features, schema.target]):
        target = table.column(schema.target).to_numpy() if schema.task == REGRESSION else None
        stats.add(columns_of(table, schema.kinds), target)
    return stats


def inputs(params: Params, schema: Schema, spec: LossSpec, contract: Contract, cluster: Cluster = SOLO):
    """(training data, validation data, fit settings): tf.data pipelines over the training split
    (reshuffled every epoch, from the seed and the epoch's number) and the validation split (in
    order), streamed from the parquet files or held in memory when small enough
    (core/epochs.py), with the same batches in the same order either way. Under multi_worker
    each worker reads its own shard of both. The fit settings: `steps_per_execution`, and
    `steps_per_epoch` when the training data repeats endlessly (one iterator for the fit)."""
    from pipeline.ml.inputs import block_dataset, memory_dataset, ordered_dataset

    epochs, seed, batch_size = itertools.count(), params.base.seed, params.train.batch_size
    features, train_rows = contract.features, split_rows("train")
    path, why = choose_input(params.train.input, train_rows, features, params.train.memory_mb)
    if cluster.workers > 1:
        path, why = MEMORY, f"multi_worker: each of {cluster.workers} workers holds its shard"
        batch_size = worker_batch(batch_size, cluster.workers)
    rows = len(shard(np.arange(train_rows), cluster.workers, cluster.index))
    steps = math.ceil(rows / batch_size)
    per_call = steps_per_execution(params.train.steps_per_execution, steps, cluster.workers)
    repeat = steps % per_call == 0
    print(
        f"[train] input: {path} ({why}); {per_call} of {steps} batches an epoch per call into "
        "TensorFlow (train.steps_per_execution)"
    )
    fit = {"steps_per_execution": per_call, "steps_per_epoch": steps if repeat else None}
    if path == STREAM:

        def shuffled_train():
            return split_blocks("train", schema, features, shuffle=(seed, next(epochs)))

        train_data = block_dataset(shuffled_train, train_rows, features, spec, batch_size)
        val_data = block_dataset(
            lambda: split_blocks("val", schema, features), split_rows("val"), features, spec, batch_size
        )
        return (train_data.repeat() if repeat else train_data), val_data, fit

    x, y = read_split("train", schema, features)
    groups = split_group_rows("train")

    def order() -> np.ndarray:
        rows = epoch_order(groups, (seed, next(epochs)), SHUFFLE_ROWS)
        return shard(rows, cluster.workers, cluster.index)

    train_data = memory_dataset(x, spec.targets(y), order, batch_size, rows, repeat)
    xv, yv = read_split("val", schema, features)
    mine = shard(np.arange(len(yv)), cluster.workers, cluster.index)
    val_data = ordered_dataset({k: v[mine] for k, v in xv.items()}, spec.targets(yv[mine]), batch_size)
    return train_data, val_data, fit


def as_history(rows: list[dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows).sort_values("epoch").reset_index(drop=True)


def train(params: Params) -> str | None:
    """Train and record; the run id, or None on a multi-worker run's non-chief worker (it trains
    its shard and writes nothing the pipeline reads)."""
    schema = read_schema()
    spec = check_before_training(params, schema)
    multi = params.train.distribute == "multi_worker"
    cluster = parse_tf_config(os.environ.get("TF_CONFIG")) if multi else SOLO

    # TensorFlow starts here, after every cheap check has passed; the strategy first of all,
    # before any op runs (multi_worker cannot be configured after).
    from pipeline.ml.strategy import peers_watched, start

    strategy = start(params.train.distribute, cluster, params.train.worker_timeout_s)
    resume = ResumeState(fingerprint(params, schema.data_hash))
    if cluster.chief:
        done, earlier = resume.start()
    else:  # reads the chief's backup, never changes it
        done = resume.epochs_done()
        earlier = [row for row in resume.rows() if row["epoch"] <= done]

    from pipeline.ml.callbacks import BestWeights, best_value, build_callbacks, early_stopped_epoch
    from pipeline.ml.keras_file import copy_weights
    from pipeline.ml.model import build_model, compile_model, devices, seed_everything, use_mixed_precision

    seed_everything(params.base.seed)
    device, mixed = devices(), use_mixed_precision(params.train.mixed_precision)
    stats = training_stats(schema, params.base.seed)
    contract = feature_contract(schema, stats, params.model.embed_above)
    train_data, val_data, fit = inputs(params, schema, spec, contract, cluster)
    spec_of = train_data.element_spec
    if cluster.workers > 1:
        # Each worker's dataset is already its shard in per-worker batches: handed over as it
        # is (tf.distribute would otherwise re-split every batch among the replicas).
        train_data, val_data = (
            strategy.distribute_datasets_from_function(lambda _, data=data: data)
            for data in (train_data, val_data)
        )
    with strategy.scope():
        model = build_model(contract, spec, params.model, stats.target)
        compile_model(model, spec, params.train, fit["steps_per_execution"])
    if cluster.workers > 1:
        from pipeline.ml.strategy import build_before_fit

        build_before_fit(model, strategy, spec_of)
    if not cluster.chief:
        train_worker(params, model, train_data, val_data, fit, resume, earlier, cluster)
        return None
    if not done:
        # A checkpoint left by an earlier run must not pass for this run's best epoch.
        paths.BEST_CHECKPOINT.unlink(missing_ok=True)
    paths.CHECKPOINT_DIR.mkdir(parents=True, exist_ok=True)

    experiment = provenance.dvc_experiment()
    tags = {
        "git_commit": provenance.git_commit(),
        "data_hash": schema.data_hash,
        "task": schema.task,
        "stage": "train",
        "device": device,
        "mixed_precision": mixed,
        "distribute": params.train.distribute,
        **({"workers": cluster.workers} if cluster.workers > 1 else {}),
        **({"dvc_experiment": experiment} if experiment else {}),
    }
    with tracking.training_run(
        params.mlflow.experiment, run_name(params, experiment), tags, resume_id=resume.run_id()
    ) as run_id:
        resume.save_run_id(run_id)
        if done:
            print(f"[train] resuming run {run_id} after epoch {done} (backup in {resume.folder})")
            tracking.log_missing_epochs(run_id, earlier)
        else:
            tracking.log_params(flatten(params.model_dump(mode="json", by_alias=True)))
            for split, context in (("train", "training"), ("val", "validation")):
                dataset_logging.log_split(split, context, params.data.path, schema)
        print(
            f"[train] device: {device}; mixed precision {'on' if mixed else 'off'}; "
            f"distribute {params.train.distribute}"
        )
        epoch_log = tracking.EpochLog()

        def on_epoch(epoch: int, logs: Mapping[str, float]) -> None:
            epoch_log(epoch, logs)
            resume.append(epoch, logs)

        ckpt = params.train.checkpoint
        callbacks = build_callbacks(
            params.train,
            paths.BEST_CHECKPOINT,
            on_epoch,
            resume.backup_dir,
            earlier[0]["loss"] if earlier else None,
            best_value(as_history(earlier).to_dict("list"), ckpt.monitor, ckpt.mode) if earlier else None,
            # When the model keeps the best weights, the checkpoint is copied out of it below.
            write_checkpoint=not keeps_best(params),
        )
        try:
            with peers_watched(cluster):
                fit_epochs(model, train_data, val_data, params, fit, callbacks)
        except TrainingDiverged as exc:
            epoch_log.flush()
            fail_diverged(exc, resume)
        epoch_log.flush()
        history = as_history(resume.rows())
        best = next(c for c in callbacks if isinstance(c, BestWeights))
        weights_epoch = keep_weights(history, params, best)
        stopped = early_stopped_epoch(callbacks)
        summary = {
            "epochs_run": len(history),
            "resumed_after": done,
            "weights_epoch": weights_epoch,
            "val_loss": float(history["val_loss"].iloc[weights_epoch - 1]),
            "early_stopped": stopped is not None,
        }
        diagnosis = diagnose(history.to_dict("list"), kept_epoch=weights_epoch, early_stopped_epoch=stopped)
        write_json(paths.DIAGNOSIS, diagnosis.to_dict())
        tracking.record(
            metrics={"kept_epoch": weights_epoch},
            tags={
                "diagnosis": diagnosis.verdict,
                "diagnosis.reason": diagnosis.reason,
                "diagnosis.fix": diagnosis.fix,
                **{f"train.{k}": v for k, v in summary.items()},
            },
        )

        with atomic_path(paths.MODEL) as tmp:
            model.save(tmp)
        if keeps_best(params):
            with atomic_path(paths.BEST_CHECKPOINT) as tmp:
                copy_weights(paths.MODEL, tmp)  # the kept weights, which the model now holds
        write_contract(contract)
        write_text(paths.HISTORY, history.to_csv(index=False))
        plot_curves(history, paths.CURVES)
        for artifact, folder in (
            (paths.CURVES, "plots"),
            (paths.HISTORY, "train"),
            (paths.DIAGNOSIS, "train"),
            (paths.BEST_CHECKPOINT, "checkpoints"),
            (paths.SCHEMA, "data"),
            (paths.CONTRACT, "model"),
        ):
            tracking.log_artifact(artifact, folder)
        write_json(paths.RUN, {"run_id": run_id, "experiment": params.mlflow.experiment, **summary})
        resume.discard()  # the model is saved: nothing is left to resume
    stopped_by = "early stopping ended it" if summary["early_stopped"] else "every epoch run"
    print(
        f"[train] run {run_id}: {summary['epochs_run']} epochs ({stopped_by}), kept the weights of epoch "
        f"{summary['weights_epoch']}, the best {params.train.checkpoint.monitor} (val_loss "
        f"{summary['val_loss']:.4g}; the last epoch's {history['val_loss'].iloc[-1]:.4g})"
    )
    print(f"[train] diagnosis: {diagnosis.verdict}: {diagnosis.reason} Fix: {diagnosis.fix}")
    return run_id


def fit_epochs(model, train_data, val_data, params: Params, fit: dict, callbacks: list) -> None:
    """`model.fit` as every worker runs it. shuffle=False: the training split's pipeline shuffles
    itself, every epoch; `steps_per_epoch` when the training data repeats (one iterator)."""
    model.fit(
        train_data,
        validation_data=val_data,
        epochs=params.train.epochs,
        steps_per_epoch=fit["steps_per_epoch"],
        callbacks=callbacks,
        shuffle=False,
        verbose=2,
    )


def keeps_best(params: Params) -> bool:
    """Does the trained model keep the checkpoint's best epoch (`restore_best_weights`, the
    default) rather than its last? The checkpoint holds the best either way."""
    return params.train.early_stopping.restore_best_weights


def keep_weights(history: pd.DataFrame, params: Params, best: BestWeights) -> int:
    """The (1-based) epoch whose weights the model keeps: the checkpoint's best (given to the
    model: `keep_best_weights`), or the last one's when `restore_best_weights` is false."""
    if not keeps_best(params):
        return len(history)
    ckpt = params.train.checkpoint
    return keep_best_weights(history, ckpt.monitor, ckpt.mode, best)


def keep_best_weights(history: pd.DataFrame, monitor: str, mode: str, best: BestWeights) -> int:
    """Give the model the weights of ModelCheckpoint's best epoch; the (1-based) epoch they come from.

    After `fit` the model holds the last epoch's weights (EarlyStopping restores nothing): a run
    that overfits for 150 epochs without tripping it would otherwise be saved, evaluated and
    registered at its worst. The checkpoint is the best `monitor` of the whole run
    (a resumed one included), so it is what the model keeps whatever stopped the run. When
    it holds no best epoch's weights (`best.holds_best` false: a resumed run whose earlier best was
    lost and never beaten) it holds the last epoch's, kept all the same: every worker of a
    multi-worker run keeps its own, in step with the chief.
    """
    from pipeline.ml.callbacks import checkpoint_epoch

    epoch = checkpoint_epoch(history.to_dict("list"), monitor, mode)
    best.keep()
    return epoch if epoch is not None and best.holds_best else len(history)


def train_worker(
    params: Params,
    model,
    train_data,
    val_data,
    fit: dict,
    resume: ResumeState,
    earlier: list,
    cluster: Cluster,
) -> None:
    """A non-chief worker's share of a multi-worker run: the same fit, in step with the chief,
    restoring from the chief's backup; its checkpoints go to a temporary folder, and it writes
    no history, model, report or MLflow run. It fails exactly when the chief does (the losses
    are all-reduced, so the divergence guard decides alike everywhere)."""
    import tempfile

    from pipeline.ml.callbacks import BestWeights, best_value, build_callbacks
    from pipeline.ml.strategy import peers_watched

    ckpt = params.train.checkpoint
    print(f"[train] {cluster.role} of {cluster.workers}: training shard {cluster.index}; the chief writes")
    with tempfile.TemporaryDirectory(prefix="train-worker-") as scratch:
        callbacks = build_callbacks(
            params.train,
            Path(scratch) / "best.weights.h5",
            lambda epoch, logs: None,
            resume.backup_dir,
            earlier[0]["loss"] if earlier else None,
            # The chief's threshold: both keep (read) weights at the same epochs, in step.
            best_value(as_history(earlier).to_dict("list"), ckpt.monitor, ckpt.mode) if earlier else None,
            worker_scratch=Path(scratch) / "backup",
            write_checkpoint=not keeps_best(params),  # as the chief
        )
        with peers_watched(cluster):
            fit_epochs(model, train_data, val_data, params, fit, callbacks)
            # In step with the chief, which keeps its weights and saves the model.
            if keeps_best(params):
                next(c for c in callbacks if isinstance(c, BestWeights)).keep()
            model.save(Path(scratch) / "model.keras")


def fail_diverged(exc: TrainingDiverged, resume: ResumeState) -> None:
    """Tag the run with the diagnosis and fail the stage; the backup of this config goes too."""
    rows = resume.rows()
    diagnosis = diagnose(as_history(rows).to_dict("list"), diverged=str(exc)) if rows else None
    tags = {"diagnosis": "diverged", "diagnosis.reason": str(exc)}
    if diagnosis is not None:
        tags["diagnosis.fix"] = diagnosis.fix
    tracking.set_tags(tags)
    resume.discard()
    fix = diagnosis.fix if diagnosis is not None else "Fix: lower train.learning_rate."
    raise TrainingDiverged(
        f"training diverged: {exc}. The run is marked failed and nothing is "
        f"registered; the champion stays. {fix}"
    ) from None


def main() -> None:
    run_stage("train", lambda: train(load_params()))


if __name__ == "__main__":
    run_and_exit(main)
