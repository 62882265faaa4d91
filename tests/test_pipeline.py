"""The whole pipeline for real: `dvc repro` in a fresh git repo against a real `mlflow server`."""

from __future__ import annotations

import json
import subprocess

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import make_project, run_ok, tool_env

pytestmark = pytest.mark.integration

MODEL_NAME = "breast-cancer-classifier"
EPOCHS = 6


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, mlflow_server):
    """One `dvc repro` of the default pipeline, shortened to a few epochs."""
    repo = make_project(tmp_path_factory.mktemp("repo"), {"train.epochs": EPOCHS})
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server)
    first = run_ok(["dvc", "repro"], repo, env)
    return repo, env, first, MlflowClient(mlflow_server)


def read(repo, relative):
    return json.loads((repo / relative).read_text())


def test_every_stage_ran_and_wrote_its_outputs(pipeline):
    repo, _, first, _ = pipeline
    for stage in ("fetch", "prepare", "train", "evaluate", "register"):
        assert f"Running stage '{stage}'" in first.stdout
    schema = read(repo, "data/prepared/schema.json")
    assert schema["task"] == "binary"
    assert schema["task_reason"] == "auto: 2 distinct integer values (at most data.max_classes = 20)"
    assert schema["class_labels"] == [0, 1]
    assert len(schema["features"]) == 30
    assert schema["split_sizes"] == {"train": 370, "val": 86, "holdout": 113}
    assert len(schema["data_hash"]) == 64
    for split, size in schema["split_sizes"].items():
        assert len(pd.read_parquet(repo / f"data/prepared/{split}.parquet")) == size
    history = pd.read_csv(repo / "reports/train/history.csv")
    assert history["epoch"].tolist() == list(range(1, EPOCHS + 1))
    assert {"loss", "val_loss", "auc", "val_auc", "learning_rate"} <= set(history.columns)
    assert (repo / "models/model.keras").stat().st_size > 10_000
    assert (repo / "models/checkpoints/best.weights.h5").is_file()


def test_holdout_metrics_beat_chance(pipeline):
    repo = pipeline[0]
    metrics = read(repo, "reports/eval/metrics.json")
    assert set(metrics) == {"loss", "accuracy", "precision", "recall", "f1", "roc_auc"}
    # Six epochs are enough to be far above the 63 % majority class on this data.
    assert metrics["accuracy"] > 0.85
    assert metrics["roc_auc"] > 0.95
    assert read(repo, "reports/eval/threshold.json") == {
        "threshold": 0.5, "policy": "fixed", "chosen_on": "val"}


def test_one_mlflow_run_holds_params_curves_and_holdout_metrics(pipeline):
    repo, _, _, client = pipeline
    run_info = read(repo, "reports/train/run.json")
    run_data = client.get_run(run_info["run_id"]).data
    assert run_data.params["train.learning_rate"] == "0.001"
    assert run_data.params["train.early_stopping.patience"] == "15"
    assert run_data.params["register.metric"] == "auto"
    val_loss = client.get_metric_history(run_info["run_id"], "val_loss")
    assert [m.step for m in val_loss] == list(range(1, EPOCHS + 1))
    assert len(client.get_metric_history(run_info["run_id"], "learning_rate")) == EPOCHS
    metrics = read(repo, "reports/eval/metrics.json")
    assert run_data.metrics["holdout_roc_auc"] == pytest.approx(metrics["roc_auc"])
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert run_data.tags["git_commit"] == head
    assert run_data.tags["data_hash"] == read(repo, "data/prepared/schema.json")["data_hash"]
    experiment = client.get_experiment_by_name("keras-tabular")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    artifacts = {a.path for a in client.list_artifacts(run_info["run_id"], "plots")}
    assert artifacts == {"plots/curves.png", "plots/roc.png", "plots/pr.png", "plots/confusion.png"}
    diagnosis = read(repo, "reports/train/diagnosis.json")
    assert run_data.tags["diagnosis"] == diagnosis["verdict"]
    assert run_data.tags["diagnosis.fix"] == diagnosis["fix"]
    assert diagnosis["best_epoch"] in range(1, EPOCHS + 1)


def test_first_model_becomes_champion_with_its_lineage(pipeline):
    repo, _, _, client = pipeline
    registration = read(repo, "reports/register/registration.json")
    assert registration["promoted"] is True
    assert registration["version"] == 1
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert champion.version == "1"
    assert champion.tags["run_id"] == read(repo, "reports/train/run.json")["run_id"]
    assert champion.tags["threshold"] == "0.5"
    assert champion.tags["promoted"] == "True"


def test_second_repro_reruns_nothing(pipeline):
    repo, env, _, _ = pipeline
    again = run_ok(["dvc", "repro"], repo, env)
    assert "Running stage" not in again.stdout
    assert "Data and pipelines are up to date." in again.stdout


def test_experiment_on_a_register_param_reruns_only_register_and_keeps_the_champion(pipeline):
    repo, env, _, client = pipeline
    # A margin no candidate can meet: the gate must refuse and keep version 1.
    done = run_ok(["dvc", "exp", "run", "-S", "register.min_improvement=1.0"], repo, env)
    ran = [stage for stage in ("fetch", "prepare", "train", "evaluate", "register")
           if f"Running stage '{stage}'" in done.stdout]
    assert ran == ["register"]
    registration = read(repo, "reports/register/registration.json")
    assert registration["version"] == 2
    assert registration["promoted"] is False
    assert "does not beat champion" in registration["reason"]
    assert registration["champion_after"] == 1
    assert client.get_model_version_by_alias(MODEL_NAME, "champion").version == "1"
    assert client.get_model_version(MODEL_NAME, "2").tags["promoted"] == "False"

    shown = json.loads(run_ok(["dvc", "exp", "show", "--json"], repo, env).stdout)
    experiments = [exp for rev in shown for exp in (rev.get("experiments") or [])]
    assert experiments, "dvc exp show lists no experiment"


def test_dvc_plots_show_renders_the_curves(pipeline):
    repo, env, _, _ = pipeline
    run_ok(["dvc", "plots", "show", "-o", "plots-out"], repo, env)
    html = (repo / "plots-out/index.html").read_text()
    assert "val_loss" in html
    assert "fpr" in html
    written = {p.name for p in (repo / "reports/eval/plots").iterdir()}
    assert written == {"roc.json", "pr.json", "confusion.json"}  # a binary run's plots only


def test_training_is_never_restored_from_the_run_cache(pipeline):
    """Params that match an earlier run retrain: every pipeline run is a new MLflow run."""
    repo, env, _, client = pipeline
    experiment_id = client.get_experiment_by_name("keras-tabular").experiment_id
    runs_before = len(client.search_runs([experiment_id]))
    run_ok(["dvc", "exp", "run", "-S", f"train.epochs={EPOCHS - 1}"], repo, env)
    back = run_ok(["dvc", "exp", "run", "-S", f"train.epochs={EPOCHS}"], repo, env)
    assert "Running stage 'train'" in back.stdout
    assert "restored from run-cache" not in back.stdout.lower()
    assert len(client.search_runs([experiment_id])) == runs_before + 2
    history = pd.read_csv(repo / "reports/train/history.csv")
    assert len(history) == EPOCHS
