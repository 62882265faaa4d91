"""pipeline/ml/baseline.py: HistGradientBoosting on the prepared training split of a messy table
(text columns with missing values, a true/false column with gaps, a fifth of a number missing)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.core import metrics as m
from pipeline.core.config import parse_params
from pipeline.ml import baseline as baseline_module
from pipeline.ml.baseline import Baseline, frames
from pipeline.stages.prepare import prepare
from tests.messy import TARGET, penguin_table


def prepared(tmp_path, monkeypatch, task: str):
    monkeypatch.chdir(tmp_path)
    penguin_table(400, task=task).to_csv("penguins.csv", index=False)
    return prepare(
        parse_params(
            {
                "data": {"path": "penguins.csv", "target": TARGET},
                "register": {"model_name": "m"},
                "mlflow": {"experiment": "e"},
            }
        )
    )


@pytest.mark.parametrize(
    ("task", "metric", "floor"), [("binary", "accuracy", 0.8), ("multiclass", "accuracy", 0.6)]
)
def test_classification_gives_probabilities_that_learn_the_table(tmp_path, monkeypatch, task, metric, floor):
    schema = prepared(tmp_path, monkeypatch, task)
    fitted = Baseline(schema, seed=0)
    assert fitted.name == "HistGradientBoostingClassifier" and fitted.rows == schema.split_sizes["train"]
    y, out = fitted.score_split("holdout")
    assert out.shape == (schema.split_sizes["holdout"], len(schema.class_labels))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-9)
    threshold = 0.5 if task == "binary" else None
    assert m.task_metrics(schema.task, y, out, threshold)[metric] >= floor
    again = Baseline(schema, seed=0).score_split("holdout")[1]
    np.testing.assert_array_equal(out, again)  # seeded: the same figures every run


def test_regression_gives_values(tmp_path, monkeypatch):
    schema = prepared(tmp_path, monkeypatch, "regression")
    fitted = Baseline(schema, seed=0)
    assert fitted.name == "HistGradientBoostingRegressor"
    y, out = fitted.score_split("holdout")
    assert out.shape == y.shape == (schema.split_sizes["holdout"],)
    assert m.regression_metrics(y, out)["r2"] > 0.5


def test_categories_are_native_missing_and_unseen_become_nan(tmp_path, monkeypatch):
    schema = prepared(tmp_path, monkeypatch, "binary")
    assert {schema.kinds["island"], schema.kinds["sex"]} == {"categorical"}
    (x, _), *_ = frames("train", schema)
    assert x["island"].isna().any() and x["bill_length_mm"].isna().any()  # missing stays missing
    monkeypatch.setattr(baseline_module, "MAX_CATEGORIES", 2)  # the rarest island goes missing
    fitted = Baseline(schema, seed=0)
    assert len(fitted.categories["island"]) == 2
    odd = x.head(3).copy()
    odd["island"] = ["Atlantis", None, "Biscoe"]
    answers = fitted.outputs(odd)
    assert answers.shape == (3, 2) and np.isfinite(answers).all()


def test_a_large_split_is_fitted_on_its_first_rows(tmp_path, monkeypatch):
    schema = prepared(tmp_path, monkeypatch, "binary")
    parts = list(frames("train", schema, max_rows=50))
    assert sum(len(y) for _, y in parts) == 50 and len(parts[-1][0]) == len(parts[-1][1])
