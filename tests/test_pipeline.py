"""The whole pipeline for real: `dvc repro` in a fresh git repo against a real `mlflow server`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import ROOT, make_project, plot_panels, run_ok, tool_env
from tests.helpers import baseline_expected

pytestmark = pytest.mark.integration

MODEL_NAME = "breast-cancer-classifier"
EPOCHS = 6


@dataclass(frozen=True)
class FirstRun:
    """What the first `dvc repro` left, kept aside: other tests of this module run experiments
    in the same workspace (in any order), which rewrite its reports and move the champion."""

    stdout: str
    reports: Path  # a folder with a copy of reports/ right after it
    champion: str  # the champion's version right after it


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, mlflow_server):
    """One `dvc repro` of the default pipeline, shortened to a few epochs."""
    repo = make_project(tmp_path_factory.mktemp("repo"), {"train.epochs": EPOCHS})
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server)
    done = run_ok(["dvc", "repro"], repo, env)
    client = MlflowClient(mlflow_server)
    reports = shutil.copytree(repo / "reports", tmp_path_factory.mktemp("first") / "reports")
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion").version
    return repo, env, FirstRun(done.stdout, reports.parent, champion), client


@pytest.fixture(scope="module")
def two_runs(pipeline):
    """The pipeline with at least two MLflow runs to compare: a second, two epochs shorter (an
    epoch count no other test sets), unless another test of the module made one already."""
    repo, env, _, client = pipeline
    experiment_id = client.get_experiment_by_name("keras-tabular").experiment_id
    if len(client.search_runs([experiment_id])) < 2:
        run_ok(["dvc", "exp", "run", "-S", f"train.epochs={EPOCHS - 2}"], repo, env)
    return pipeline


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
    assert [c["kind"] for c in schema["columns"]] == ["numeric"] * 30
    assert schema["split_sizes"] == {"train": 370, "val": 86, "holdout": 113}
    assert len(schema["data_hash"]) == 64
    for split, size in schema["split_sizes"].items():
        assert len(pd.read_parquet(repo / f"data/prepared/{split}.parquet")) == size
    history = pd.read_csv(first.reports / "reports/train/history.csv")
    assert history["epoch"].tolist() == list(range(1, EPOCHS + 1))
    assert {"loss", "val_loss", "auc", "val_auc", "learning_rate"} <= set(history.columns)
    assert (repo / "models/model.keras").stat().st_size > 10_000
    assert (repo / "models/checkpoints/best.weights.h5").is_file()


def test_holdout_metrics_beat_chance(pipeline):
    repo = pipeline[2].reports
    metrics = read(repo, "reports/eval/metrics.json")
    names = {"loss", "accuracy", "precision", "recall", "f1", "roc_auc"}
    assert set(metrics) == names | {f"baseline_{name}" for name in names}
    # Six epochs are enough to be far above the 63 % majority class on this data.
    assert metrics["accuracy"] > 0.85
    assert metrics["roc_auc"] > 0.95
    assert read(repo, "reports/eval/threshold.json") == {
        "threshold": 0.5,
        "policy": "fixed",
        "chosen_on": "val",
    }


def test_the_baseline_line_for_a_binary_task(pipeline):
    _, _, first, client = pipeline
    metrics = read(first.reports, "reports/eval/metrics.json")
    outcome, figures = baseline_expected(metrics, "binary", 113)
    assert f"[evaluate] the network {outcome} it" in first.stdout and figures in first.stdout
    assert metrics["baseline_roc_auc"] > 0.95  # the bundled table is easy for both
    run = client.get_run(read(first.reports, "reports/train/run.json")["run_id"]).data
    assert run.tags["baseline"] == outcome
    assert run.metrics["baseline_roc_auc"] == pytest.approx(metrics["baseline_roc_auc"])


def test_one_mlflow_run_holds_params_curves_and_holdout_metrics(pipeline):
    repo, _, first, client = pipeline
    run_info = read(first.reports, "reports/train/run.json")
    run_data = client.get_run(run_info["run_id"]).data
    assert run_data.params["train.learning_rate"] == "0.001"
    assert run_data.params["train.early_stopping.patience"] == "15"
    assert run_data.params["register.metric"] == "auto"
    val_loss = client.get_metric_history(run_info["run_id"], "val_loss")
    assert [m.step for m in val_loss] == list(range(1, EPOCHS + 1))
    assert len(client.get_metric_history(run_info["run_id"], "learning_rate")) == EPOCHS
    metrics = read(first.reports, "reports/eval/metrics.json")
    assert run_data.metrics["holdout_roc_auc"] == pytest.approx(metrics["roc_auc"])
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert run_data.tags["git_commit"] == head
    assert run_data.tags["data_hash"] == read(repo, "data/prepared/schema.json")["data_hash"]
    experiment = client.get_experiment_by_name("keras-tabular")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    artifacts = {a.path for a in client.list_artifacts(run_info["run_id"], "plots")}
    assert artifacts == {"plots/curves.png", "plots/roc.png", "plots/pr.png", "plots/confusion.png"}
    diagnosis = read(first.reports, "reports/train/diagnosis.json")
    assert run_data.tags["diagnosis"] == diagnosis["verdict"]
    assert run_data.tags["diagnosis.fix"] == diagnosis["fix"]
    assert diagnosis["best_epoch"] in range(1, EPOCHS + 1)


def test_first_model_becomes_champion_with_its_lineage(pipeline):
    _, _, first, client = pipeline
    registration = read(first.reports, "reports/register/registration.json")
    assert registration["promoted"] is True
    assert registration["version"] == 1
    assert first.champion == "1"
    champion = client.get_model_version(MODEL_NAME, "1")
    assert champion.tags["run_id"] == read(first.reports, "reports/train/run.json")["run_id"]
    assert champion.tags["threshold"] == "0.5"
    assert champion.tags["promoted"] == "True"


def test_second_repro_reruns_nothing(pipeline):
    repo, env, _, _ = pipeline
    again = run_ok(["dvc", "repro"], repo, env)
    assert "Running stage" not in again.stdout
    assert "Data and pipelines are up to date." in again.stdout


def test_experiment_on_a_register_param_reruns_only_register_and_keeps_the_champion(pipeline):
    repo, env, _, client = pipeline
    versions = len(client.search_model_versions(f"name = '{MODEL_NAME}'"))
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion").version
    # A margin no candidate can meet: the gate must refuse and keep the champion.
    done = run_ok(["dvc", "exp", "run", "-S", "register.min_improvement=1.0"], repo, env)
    ran = [
        stage
        for stage in ("fetch", "prepare", "train", "evaluate", "register")
        if f"Running stage '{stage}'" in done.stdout
    ]
    assert ran == ["register"]
    registration = read(repo, "reports/register/registration.json")
    assert registration["version"] == versions + 1
    assert registration["promoted"] is False
    assert "does not beat champion" in registration["reason"]
    assert registration["champion_after"] == int(champion)
    assert client.get_model_version_by_alias(MODEL_NAME, "champion").version == champion
    assert client.get_model_version(MODEL_NAME, str(versions + 1)).tags["promoted"] == "False"

    shown = json.loads(run_ok(["dvc", "exp", "show", "--json"], repo, env).stdout)
    experiments = [exp for rev in shown for exp in (rev.get("experiments") or [])]
    assert experiments, "dvc exp show lists no experiment"


def test_dvc_plots_show_draws_a_binary_models_panels_without_a_warning(pipeline):
    repo, env, _, _ = pipeline
    assert plot_panels(repo, env) == {
        "loss",
        "learning_rate",
        "reports/train/curves.png",
        "reports/eval/figures/roc.png",
        "reports/eval/figures/pr.png",
        "reports/eval/figures/confusion.png",
    }
    run_ok(["dvc", "plots", "show", "-o", "plots-out"], repo, env)
    assert "val_loss" in (repo / "plots-out/index.html").read_text()
    written = {p.name for p in (repo / "reports/eval/plots").iterdir()}
    assert written == {"roc.json", "pr.json", "confusion.json"}  # a binary run's plot data only
    shown = run_ok(["dvc", "exp", "show", "--json"], repo, env)
    assert "WARNING" not in shown.stderr and "ERROR" not in shown.stderr, shown.stderr


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


def test_compare_prints_the_runs_side_by_side(two_runs):
    repo, env, _, client = two_runs
    done = run_ok([sys.executable, "-m", "pipeline.compare", "--last", "2", "--champion"], repo, env)
    lines = done.stdout.splitlines()
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion")
    assert f"[{champion.run_id[:8]}] (champion)" in lines[0]
    assert lines[0].count("[") == 2  # two runs, side by side
    assert next(line for line in lines if line.startswith("baseline ")).split()[1] in {
        "beats",
        "matches",
        "trails",
    }
    baseline_auc = client.get_run(champion.run_id).data.metrics["baseline_roc_auc"]
    assert (
        next(line for line in lines if line.startswith("baseline_roc_auc")).split()[1]
        == f"{baseline_auc:.4f}"
    )
    holdout_auc = client.get_run(champion.run_id).data.metrics["holdout_roc_auc"]
    auc_row = next(line for line in lines if line.startswith("holdout_roc_auc"))
    assert auc_row.split()[1] == f"{holdout_auc:.4f}"
    rate = client.get_run(champion.run_id).data.params["train.learning_rate"]
    assert next(line for line in lines if line.startswith("train.learning_rate")).split()[1] == rate


def test_a_queued_grid_gives_one_mlflow_run_per_experiment_agreeing_with_dvc(pipeline):
    repo, env, _, client = pipeline
    rates = ("0.003", "0.03")  # two are a grid; each more costs a train, evaluate and register
    for rate in rates:
        run_ok(
            ["dvc", "exp", "run", "--queue", "-S", f"train.learning_rate={rate}", "-S", "train.epochs=3"],
            repo,
            env,
        )
    run_ok(["dvc", "exp", "run", "--run-all"], repo, env)
    shown = json.loads(run_ok(["dvc", "exp", "show", "--json"], repo, env).stdout)
    queued = {}
    for rev in shown:
        for exp in rev.get("experiments") or []:
            for item in exp["revs"]:
                data = item["data"]
                rate = data["params"]["params.yaml"]["data"]["train"]["learning_rate"]
                if str(rate) in rates and data["params"]["params.yaml"]["data"]["train"]["epochs"] == 3:
                    queued[item["name"]] = data["metrics"]["reports/eval/metrics.json"]["data"]
    assert len(queued) == len(rates), queued.keys()
    experiment_id = client.get_experiment_by_name("keras-tabular").experiment_id
    for name, metrics in queued.items():
        (run,) = client.search_runs([experiment_id], f"tags.dvc_experiment = '{name}'")
        assert run.data.tags["mlflow.runName"].startswith(f"{name}:breast_cancer-adam-lr")
        for metric, value in metrics.items():
            logged = metric if metric.startswith("baseline_") else f"holdout_{metric}"
            assert run.data.metrics[logged] == pytest.approx(value, rel=1e-12), (name, metric)
        inputs = {d.dataset.name: d.dataset for d in run.inputs.dataset_inputs}
        assert set(inputs) == {"breast_cancer-train", "breast_cancer-val", "breast_cancer-holdout"}
        assert inputs["breast_cancer-train"].source  # where the data came from
        data_hash = read(repo, "data/prepared/schema.json")["data_hash"]
        assert inputs["breast_cancer-train"].digest == data_hash[:16]


CHROMIUM = shutil.which("chromium")
ARTIFACTS = ROOT / "test-artifacts"  # screenshots a CI run can keep


def browse(url: str, profile, screenshot=None) -> str:
    """Headless Chromium: the page's DOM after its scripts ran, and optionally a screenshot."""
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=20000",
        "--window-size=1400,1000",
    ]
    if screenshot is not None:
        subprocess.run(
            [*flags, f"--screenshot={screenshot}", url], capture_output=True, timeout=120, check=True
        )
    return subprocess.run(
        [*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (make test installs it as root)")
def test_the_mlflow_ui_shows_both_runs_a_param_and_a_metric(two_runs, mlflow_server, tmp_path):
    repo, _, _, client = two_runs
    experiment_id = client.get_experiment_by_name("keras-tabular").experiment_id
    champion = client.get_model_version_by_alias(MODEL_NAME, "champion").run_id
    other = next(r.info.run_id for r in client.search_runs([experiment_id]) if r.info.run_id != champion)
    names = {run_id: client.get_run(run_id).info.run_name for run_id in (champion, other)}
    ARTIFACTS.mkdir(exist_ok=True)

    runs_page = browse(
        f"{mlflow_server}/#/experiments/{experiment_id}/runs", tmp_path / "p1", ARTIFACTS / "mlflow-runs.png"
    )
    for name in names.values():
        assert name in runs_page
    ids = urllib.parse.quote(json.dumps([champion, other]))
    compare = browse(
        f"{mlflow_server}/#/compare-runs?runs={ids}&experiments="
        f"{urllib.parse.quote(json.dumps([experiment_id]))}",
        tmp_path / "p2",
        ARTIFACTS / "mlflow-compare.png",
    )
    assert "Comparing 2 Runs" in compare
    for run_id in (champion, other):
        assert run_id in compare
    assert "train.learning_rate" in compare and "holdout_roc_auc" in compare
    assert (ARTIFACTS / "mlflow-compare.png").stat().st_size > 20_000
