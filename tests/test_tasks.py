"""Multi-class (text labels) and regression end to end on the messy table (tests/messy.py): real
`dvc repro`, registry and service, from the session's shared projects (`messy_project`)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import plot_panels
from tests.helpers import baseline_expected
from tests.messy import LABELS, TARGET, natural

pytestmark = pytest.mark.integration


def read(repo, relative):
    return json.loads((repo / relative).read_text())


@pytest.fixture
def multiclass(messy_project):
    return messy_project("multiclass")


@pytest.fixture
def regression(messy_project):
    return messy_project("regression")


def test_multiclass_with_text_labels_end_to_end(multiclass, mlflow_server):
    repo = multiclass.repo
    schema = read(repo, "data/prepared/schema.json")
    assert (schema["task"], schema["class_labels"]) == ("multiclass", LABELS["multiclass"])
    assert "task multiclass (auto: 3 distinct non-numeric labels" in multiclass.stdout
    metrics = read(repo, "reports/eval/metrics.json")
    names = {"loss", "accuracy", "macro_f1", "top_k_accuracy"}
    assert set(metrics) == names | {f"baseline_{name}" for name in names}
    outcome, figures = baseline_expected(metrics, "multiclass", schema["split_sizes"]["holdout"])
    assert f"[evaluate] the network {outcome} it" in multiclass.stdout and figures in multiclass.stdout
    run = MlflowClient(mlflow_server).get_run(read(repo, "reports/train/run.json")["run_id"]).data
    assert run.tags["baseline"] == outcome and run.tags["baseline.line"].endswith(figures)
    # Three tertiles of a noisy score: a third right by chance; both models do far better.
    assert metrics["accuracy"] > 0.6 and metrics["baseline_accuracy"] > 0.6
    assert read(repo, "reports/eval/threshold.json")["threshold"] is None
    per_class = read(repo, "reports/eval/plots/per_class.json")
    assert [row["class"] for row in per_class] == LABELS["multiclass"]
    assert sum(row["support"] for row in per_class) == schema["split_sizes"]["holdout"]
    assert not (repo / "reports/eval/plots/roc.json").exists()
    registration = read(repo, "reports/register/registration.json")
    assert (registration["metric"], registration["promoted"]) == ("macro_f1", True)
    version = MlflowClient(mlflow_server).get_model_version_by_alias(multiclass.name, "champion")
    assert version.tags["task"] == "multiclass"


def test_dvc_plots_show_draws_a_multiclass_models_panels_only(multiclass):
    assert plot_panels(multiclass.repo, multiclass.env) == {
        "loss",
        "learning_rate",
        "reports/train/curves.png",
        "reports/eval/figures/confusion.png",
        "reports/eval/figures/per_class_f1.png",
    }


def test_the_service_answers_the_original_class_labels(multiclass):
    holdout = pd.read_parquet(multiclass.repo / "data/prepared/holdout.parquet")
    records = natural(holdout.drop(columns=TARGET))
    expected = pd.read_parquet(multiclass.repo / "reports/eval/predictions.parquet")
    body = multiclass.client.post("/predict", json={"records": records}).json()
    refused = multiclass.client.post("/predict", json={"records": records[:1], "threshold": 0.3})
    assert [p["label"] for p in body["predictions"]] == expected["label"].tolist()
    got = np.array([[p["probabilities"][c] for c in LABELS["multiclass"]] for p in body["predictions"]])
    np.testing.assert_allclose(got, expected[[f"p_{c}" for c in LABELS["multiclass"]]], atol=1e-5)
    assert refused.status_code == 422
    assert "multiclass model has no decision threshold" in refused.json()["problems"][0]["problem"]


def test_regression_end_to_end(regression):
    repo, stdout = regression.repo, regression.stdout
    assert "task regression (auto: " in stdout and "distinct real values (with fractional parts)" in stdout
    metrics = read(repo, "reports/eval/metrics.json")
    names = {"loss", "mae", "rmse", "r2"}
    assert set(metrics) == names | {f"baseline_{name}" for name in names}
    holdout_rows = read(repo, "data/prepared/schema.json")["split_sizes"]["holdout"]
    outcome, figures = baseline_expected(metrics, "regression", holdout_rows)
    assert f"[evaluate] the network {outcome} it" in stdout and figures in stdout
    # The target is a linear score plus noise: both explain most of it; the mean scores 0.
    assert metrics["r2"] > 0.5 and metrics["baseline_r2"] > 0.5
    rows = read(repo, "reports/eval/plots/residuals.json")
    assert len(rows) == holdout_rows
    assert rows[0]["residual"] == pytest.approx(rows[0]["actual"] - rows[0]["predicted"])
    values = pd.read_parquet(repo / "reports/eval/predictions.parquet")["value"]
    assert 50 < values.mean() < 150  # the target's own units (100 + 25 * score)
    history = pd.read_csv(repo / "reports/train/history.csv")
    assert {"mae", "rmse", "val_mae", "val_rmse"} <= set(history.columns)
    assert read(repo, "reports/register/registration.json")["metric"] == "r2"
    assert plot_panels(repo, regression.env) == {
        "loss",
        "learning_rate",
        "reports/train/curves.png",
        "reports/eval/figures/predicted_vs_actual.png",
        "reports/eval/figures/residuals.png",
    }
