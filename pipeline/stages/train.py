"""Stage `train`: fit the Keras model with callbacks, all of it recorded in one MLflow run."""

from __future__ import annotations

import pandas as pd

from pipeline.core.config import Params, flatten
from pipeline.core.diagnosis import diagnose
from pipeline.core.errors import ConfigMismatchError
from pipeline.core.schema import Schema
from pipeline.core.tasks import LossSpec, choose_loss, monitorable
from pipeline.io import paths, tracking
from pipeline.io.cli import run_stage
from pipeline.io.data import read_schema, read_split
from pipeline.io.figures import plot_curves
from pipeline.io.files import atomic_path, write_json, write_text
from pipeline.io.params import load_params


def check_monitors(params: Params, spec: LossSpec) -> None:
    """A callback watching a quantity Keras never logs would silently do nothing."""
    available = monitorable(spec)
    train = params.train
    for key, section in (("checkpoint", train.checkpoint), ("early_stopping", train.early_stopping),
                         ("reduce_lr", train.reduce_lr)):
        if section.monitor not in available:
            raise ConfigMismatchError(
                f"train.{key}.monitor = {section.monitor!r} is never logged. "
                f"Fix: use one of {', '.join(available)}."
            )


def run_name(params: Params) -> str:
    units = "x".join(map(str, params.model.hidden_units))
    return f"{params.train.optimizer}-lr{params.train.learning_rate:g}-bs{params.train.batch_size}-mlp{units}"


def loss_spec(params: Params, schema: Schema) -> LossSpec:
    """The loss for this table and params: the classic mistakes are refused here, before Keras."""
    return choose_loss(schema.task, len(schema.class_labels), params.train.loss,
                       params.data.label_encoding, params.model.output_activation,
                       params.train.from_logits, params.train.top_k)


def train(params: Params) -> str:
    schema = read_schema()
    spec = loss_spec(params, schema)
    check_monitors(params, spec)

    # TensorFlow starts here, after every cheap check has passed.
    from pipeline.ml.callbacks import build_callbacks, kept_weights_epoch
    from pipeline.ml.model import build_model, compile_model, logits, seed_everything

    seed_everything(params.base.seed)
    x_train, y_train = read_split("train", schema)
    x_val, y_val = read_split("val", schema)
    model = build_model(x_train, spec, params.model, y_train)
    compile_model(model, spec, params.train)
    # A checkpoint left by an earlier run must not pass for this run's best epoch.
    paths.BEST_CHECKPOINT.unlink(missing_ok=True)
    paths.CHECKPOINT_DIR.mkdir(parents=True, exist_ok=True)

    tags = {"git_commit": tracking.git_commit(), "data_hash": schema.data_hash,
            "task": schema.task, "stage": "train"}
    with tracking.new_run(params.mlflow.experiment, run_name(params), tags) as run_id:
        tracking.log_params(flatten(params.model_dump(mode="json", by_alias=True)))
        epoch_log = tracking.EpochLog()
        callbacks = build_callbacks(params.train, paths.BEST_CHECKPOINT, epoch_log)
        fit = model.fit(
            x_train, spec.targets(y_train),
            validation_data=(x_val, spec.targets(y_val)),
            epochs=params.train.epochs,
            batch_size=params.train.batch_size,
            callbacks=callbacks,
            verbose=2,
        )
        epoch_log.flush()
        history = pd.DataFrame(fit.history)
        history.insert(0, "epoch", range(1, len(history) + 1))
        summary = {"epochs_run": len(history), "weights_epoch": kept_weights_epoch(callbacks, len(history))}
        summary["val_loss"] = float(history["val_loss"].iloc[summary["weights_epoch"] - 1])
        diagnosis = diagnose(fit.history, kept_epoch=summary["weights_epoch"])
        write_json(paths.DIAGNOSIS, diagnosis.to_dict())
        tracking.set_tags({"diagnosis": diagnosis.verdict, "diagnosis.reason": diagnosis.reason,
                           "diagnosis.fix": diagnosis.fix})

        with atomic_path(paths.MODEL) as tmp:
            model.save(tmp)
        write_text(paths.HISTORY, history.to_csv(index=False))
        plot_curves(history, paths.CURVES)
        for artifact, folder in ((paths.CURVES, "plots"), (paths.HISTORY, "train"),
                                 (paths.DIAGNOSIS, "train"), (paths.BEST_CHECKPOINT, "checkpoints"),
                                 (paths.SCHEMA, "data")):
            tracking.log_artifact(artifact, folder)
        example = x_val[:5]
        model_uri = tracking.log_keras_model(model, example, logits(model, example))
        tracking.set_tags({f"train.{k}": v for k, v in summary.items()})
        write_json(paths.RUN, {"run_id": run_id, "model_uri": model_uri,
                               "experiment": params.mlflow.experiment, **summary})
    print(f"[train] run {run_id}: {summary['epochs_run']} epochs, kept the weights of epoch "
          f"{summary['weights_epoch']} (val_loss {summary['val_loss']:.4g})")
    print(f"[train] diagnosis: {diagnosis.verdict}: {diagnosis.reason} Fix: {diagnosis.fix}")
    return run_id


def main() -> None:
    run_stage("train", lambda: train(load_params()))


if __name__ == "__main__":
    main()
