"""Multi-class (string labels) and regression end to end: real `dvc repro`, registry, service."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import make_project, plot_panels, run_ok, serve, tool_env
from tests.helpers import baseline_expected

pytestmark = pytest.mark.integration


def bundled(dataset: str, model_name: str, **overrides) -> dict:
    return {
        "fetch.dataset": dataset,
        "data.path": f"data/raw/{dataset}.csv",
        "register.model_name": model_name,
        **overrides,
    }


def read(repo, relative):
    return json.loads((repo / relative).read_text())


@pytest.fixture(scope="module")
def wine(tmp_path_factory, mlflow_server):
    """Wine as the fetch stage writes it: three cultivars named by strings."""
    repo = make_project(
        tmp_path_factory.mktemp("wine"),
        bundled("wine", "wine-test", **{"train.epochs": 40, "train.learning_rate": 0.01}),
    )
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server)
    run_ok(["dvc", "repro"], repo, env)
    return repo, env


def test_multiclass_with_string_labels_end_to_end(wine, mlflow_server):
    repo, env = wine
    schema = read(repo, "data/prepared/schema.json")
    assert (schema["task"], schema["class_labels"]) == ("multiclass", ["class_0", "class_1", "class_2"])
    metrics = read(repo, "reports/eval/metrics.json")
    names = {"loss", "accuracy", "macro_f1", "top_k_accuracy"}
    assert set(metrics) == names | {f"baseline_{name}" for name in names}
    outcome, figures = baseline_expected(metrics, "multiclass", schema["split_sizes"]["holdout"])
    run = MlflowClient(mlflow_server).get_run(read(repo, "reports/train/run.json")["run_id"]).data
    assert run.tags["baseline"] == outcome and run.tags["baseline.line"].endswith(figures)
    assert metrics["baseline_accuracy"] > 0.85
    assert metrics["accuracy"] > 0.85
    assert read(repo, "reports/eval/threshold.json")["threshold"] is None
    per_class = read(repo, "reports/eval/plots/per_class.json")
    assert [row["class"] for row in per_class] == ["class_0", "class_1", "class_2"]
    assert sum(row["support"] for row in per_class) == schema["split_sizes"]["holdout"]
    assert not (repo / "reports/eval/plots/roc.json").exists()
    registration = read(repo, "reports/register/registration.json")
    assert (registration["metric"], registration["promoted"]) == ("macro_f1", True)
    version = MlflowClient(mlflow_server).get_model_version_by_alias("wine-test", "champion")
    assert version.tags["task"] == "multiclass"


def test_dvc_plots_show_draws_a_multiclass_models_panels_only(wine):
    repo, env = wine
    assert plot_panels(repo, env) == {
        "loss",
        "learning_rate",
        "reports/train/curves.png",
        "reports/eval/figures/confusion.png",
        "reports/eval/figures/per_class_f1.png",
    }


def test_the_service_answers_the_original_class_labels(wine):
    repo, env = wine
    holdout = pd.read_parquet(repo / "data/prepared/holdout.parquet")
    records = holdout.drop(columns="target").to_dict("records")
    expected = pd.read_parquet(repo / "reports/eval/predictions.parquet")
    with serve([sys.executable, "-m", "serving"], repo, {**env, "MODEL_NAME": "wine-test"}) as client:
        body = client.post("/predict", json={"records": records}).json()
        refused = client.post("/predict", json={"records": records[:1], "threshold": 0.3})
    assert [p["label"] for p in body["predictions"]] == expected["label"].tolist()
    got = np.array(
        [[p["probabilities"][c] for c in ("class_0", "class_1", "class_2")] for p in body["predictions"]]
    )
    np.testing.assert_allclose(got, expected[["p_class_0", "p_class_1", "p_class_2"]], atol=1e-5)
    assert refused.status_code == 422
    assert "multiclass model has no decision threshold" in refused.json()["problems"][0]["problem"]


def test_regression_end_to_end(tmp_path, mlflow_server):
    repo = make_project(tmp_path, bundled("diabetes", "diabetes-test", **{"train.epochs": 30}))
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server)
    done = run_ok(["dvc", "repro"], repo, env)
    assert "task regression (auto: 214 distinct integer values" in done.stdout
    metrics = read(repo, "reports/eval/metrics.json")
    names = {"loss", "mae", "rmse", "r2"}
    assert set(metrics) == names | {f"baseline_{name}" for name in names}
    holdout_rows = read(repo, "data/prepared/schema.json")["split_sizes"]["holdout"]
    outcome, figures = baseline_expected(metrics, "regression", holdout_rows)
    assert f"[evaluate] the network {outcome} it" in done.stdout and figures in done.stdout
    assert 0.2 < metrics["baseline_r2"] < 0.7  # diabetes: about 0.4 for any model
    assert metrics["r2"] > 0.2  # the mean predictor scores about 0
    rows = read(repo, "reports/eval/plots/residuals.json")
    assert len(rows) == read(repo, "data/prepared/schema.json")["split_sizes"]["holdout"]
    assert rows[0]["residual"] == pytest.approx(rows[0]["actual"] - rows[0]["predicted"])
    values = pd.read_parquet(repo / "reports/eval/predictions.parquet")["value"]
    assert 25 < values.mean() < 350  # the target's own units
    history = pd.read_csv(repo / "reports/train/history.csv")
    assert {"mae", "rmse", "val_mae", "val_rmse"} <= set(history.columns)
    assert read(repo, "reports/register/registration.json")["metric"] == "r2"
    assert plot_panels(repo, env) == {
        "loss",
        "learning_rate",
        "reports/train/curves.png",
        "reports/eval/figures/predicted_vs_actual.png",
        "reports/eval/figures/residuals.png",
    }
