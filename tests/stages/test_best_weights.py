"""The train stage keeps the best-validation weights, evaluate measures them against the
baseline and register records both on the run: a real short fit in-process whose validation
loss bottoms out early and rises for the rest of the run while EarlyStopping (patience longer
than the run) never fires."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pipeline.core import metrics as m
from pipeline.core.config import parse_params
from pipeline.io import paths
from pipeline.stages.evaluate import evaluate
from pipeline.stages.prepare import prepare
from pipeline.stages.register import register
from pipeline.stages.train import train

EPOCHS = 25


def noisy_table(rows: int = 240) -> pd.DataFrame:
    """Eight numbers of which one carries a weak signal: a wide net without dropout memorises it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 8))
    label = np.where(x[:, 0] + rng.normal(scale=1.5, size=rows) > 0, "yes", "no")
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)])
    frame["label"] = label
    return frame


def params(restore_best_weights: bool = True, **evaluate):
    return parse_params(
        {
            "data": {"path": "t.csv", "target": "label"},
            "model": {"hidden_units": [128, 128], "dropout": 0.0},
            "train": {
                "epochs": EPOCHS,
                "batch_size": 16,
                "learning_rate": 0.01,
                "early_stopping": {"patience": 1000, "restore_best_weights": restore_best_weights},
                "reduce_lr": {"patience": 1000},
            },
            "evaluate": evaluate,
            "register": {"model_name": "m"},
            "mlflow": {"experiment": "e"},
        }
    )


def val_loss_of(model_file) -> float:
    """A saved model's log loss on the validation split of the working directory."""
    from pipeline.io.data import read_contract, read_schema, split_blocks
    from pipeline.ml.scoring import model_logits, split_outputs

    schema = read_schema()
    y, out = split_outputs(
        model_logits(model_file), split_blocks("val", schema, read_contract().features), schema.task
    )
    return m.binary_metrics(y, out[:, 1], 0.5)["loss"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("best-weights")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        noisy_table().to_csv("t.csv", index=False)
        prepare(params())
        run_id = train(params())
        yield folder, run_id, patch


def test_the_best_validation_epoch_is_saved_although_early_stopping_never_fired(trained, capsys):
    folder, run_id, _ = trained
    history = pd.read_csv(folder / paths.HISTORY)
    run = json.loads((folder / paths.RUN).read_text())
    best = int(history["val_loss"].idxmin()) + 1
    assert len(history) == EPOCHS and run["early_stopped"] is False  # it ran every epoch
    assert best <= EPOCHS - 10  # the provoked curve: the minimum early, then a long rise
    assert history["val_loss"].iloc[-1] > 1.5 * history["val_loss"].min()
    assert run["weights_epoch"] == best
    assert run["val_loss"] == pytest.approx(history["val_loss"].min())

    # The saved model answers the validation split at the best epoch's loss, not the last one's.
    assert val_loss_of(folder / paths.MODEL) == pytest.approx(history["val_loss"].min(), rel=1e-3)

    import mlflow

    logged = mlflow.MlflowClient().get_run(run_id).data
    assert logged.metrics["kept_epoch"] == best
    assert logged.tags["train.weights_epoch"] == str(best)
    diagnosis = json.loads((folder / paths.DIAGNOSIS).read_text())
    assert diagnosis["verdict"] == "overfitting" and diagnosis["best_epoch"] == best


def test_restore_best_weights_false_keeps_the_last_epoch_and_the_checkpoint_still_the_best(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    noisy_table().to_csv("t.csv", index=False)
    last = params(restore_best_weights=False)
    prepare(last)
    train(last)
    history = pd.read_csv(paths.HISTORY)
    run = json.loads(paths.RUN.read_text())
    assert run["weights_epoch"] == EPOCHS
    assert int(history["val_loss"].idxmin()) + 1 < EPOCHS
    assert val_loss_of(paths.MODEL) == pytest.approx(history["val_loss"].iloc[-1], rel=1e-3)

    from pipeline.ml.model import load_model

    model = load_model(paths.MODEL)
    model.load_weights(paths.BEST_CHECKPOINT)
    model.save(tmp_path / "best.keras")
    assert val_loss_of(tmp_path / "best.keras") == pytest.approx(history["val_loss"].min(), rel=1e-3)


def test_evaluate_scores_the_baseline_beside_the_model_and_register_records_who_wins(trained, capsys):
    folder, run_id, _ = trained
    metrics = evaluate(params())
    assert set(metrics) == {
        *("loss", "accuracy", "precision", "recall", "f1", "roc_auc"),
        *("baseline_loss", "baseline_accuracy", "baseline_precision", "baseline_recall", "baseline_f1"),
        "baseline_roc_auc",
    }
    assert json.loads((folder / paths.METRICS).read_text()) == metrics
    holdout = read_rows(folder)
    margin = round((metrics["accuracy"] - metrics["baseline_accuracy"]) * holdout)
    outcome = "matches" if abs(margin) <= 1 else ("beats" if margin > 0 else "trails")
    printed = capsys.readouterr().out
    assert f"[evaluate] the network {outcome} it" in printed
    ours, theirs = metrics["accuracy"], metrics["baseline_accuracy"]
    assert f"accuracy {ours:.4f} against HistGradientBoosting's {theirs:.4f}" in printed
    assert "[evaluate] baseline HistGradientBoostingClassifier (same training split, same holdout)" in printed

    import mlflow

    client = mlflow.MlflowClient()
    assert "holdout_accuracy" not in client.get_run(run_id).data.metrics  # evaluate writes files only
    register(params())
    logged = client.get_run(run_id)
    assert logged.data.metrics["baseline_accuracy"] == metrics["baseline_accuracy"]
    assert logged.data.metrics["holdout_accuracy"] == metrics["accuracy"]
    assert logged.data.metrics["baseline_margin"] == margin
    assert logged.data.metrics["threshold"] == json.loads((folder / paths.THRESHOLD).read_text())["threshold"]
    assert logged.data.tags["baseline"] == outcome
    assert logged.data.tags["baseline.line"].startswith(f"the network {outcome} it")
    assert logged.data.tags["threshold_policy"] == "fixed"
    assert [
        (d.dataset.name, d.tags[0].value)
        for d in logged.inputs.dataset_inputs
        if d.dataset.name.endswith("holdout")
    ] == [("t-holdout", "holdout")]
    eval_files = sorted(f.path for f in client.list_artifacts(run_id, "eval"))
    assert eval_files == [
        *("eval/confusion.json", "eval/metrics.json", "eval/pr.json"),
        *("eval/predictions.parquet", "eval/roc.json", "eval/threshold.json"),
    ]
    assert sorted(f.path for f in client.list_artifacts(run_id, "plots")) == [
        *("plots/confusion.png", "plots/curves.png", "plots/pr.png", "plots/roc.png"),
    ]


def test_the_baseline_param_turns_it_off(trained, capsys):
    folder, _, _ = trained
    metrics = evaluate(params(baseline=False))
    assert set(metrics) == {"loss", "accuracy", "precision", "recall", "f1", "roc_auc"}
    assert "baseline" not in capsys.readouterr().out


def read_rows(folder) -> int:
    return json.loads((folder / paths.SCHEMA).read_text())["split_sizes"]["holdout"]
