"""The pipeline's model against classical models fitted on the same training split.

    python -m bench.baseline            # this workspace, after `dvc repro`: one JSON line
    python -m bench.baseline --bundled  # breast_cancer, wine, digits, diabetes: a markdown table

The baselines: logistic regression (classification) or ridge regression, scikit-learn's
MLPClassifier / MLPRegressor (both on the training split's numbers imputed with their median and
standardised, categories one-hot encoded, all learnt from the training split), and
HistGradientBoosting as the evaluate stage fits it (native categories and missing values). Each is
fitted on the training split only (validation rows unused) and scored on the holdout split with the
pipeline's own metrics and threshold. `--bundled` first trains and evaluates the model at the
default params (the stage functions in a temporary folder, tracked there), so the figures are what a
user gets from `make example DATASET=...`; "matches" is evaluate's own rule (within one holdout
error, or 0.01 R²) against the best of the three.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core import metrics as m
from pipeline.core.baseline import compare
from pipeline.core.contract import NUMERIC
from pipeline.core.schema import Schema
from pipeline.core.tasks import REGRESSION
from pipeline.io import paths
from pipeline.io.data import read_schema
from pipeline.io.files import read_json

BUNDLED = ("breast_cancer", "wine", "digits", "diabetes")
SEED = 0


def whole(split: str, schema: Schema) -> tuple[pd.DataFrame, np.ndarray]:
    from pipeline.ml.baseline import frames

    parts = list(frames(split, schema))
    return pd.concat([x for x, _ in parts], ignore_index=True), np.concatenate([y for _, y in parts])


def scaled_pipeline(schema: Schema, estimator):
    """Median imputation and standardisation of numbers, one-hot categories: what a linear model
    or an MLP needs, learnt on the rows it is fitted on."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c, k in schema.kinds.items() if k == NUMERIC]
    other = [c for c, k in schema.kinds.items() if k != NUMERIC]
    columns = ColumnTransformer(
        [
            ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categories",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                other,
            ),
        ]
    )
    return make_pipeline(columns, estimator)


def classical(schema: Schema) -> dict[str, Any]:
    """The linear model and the MLP, unfitted, for the task."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    if schema.task == REGRESSION:
        return {
            "ridge": scaled_pipeline(schema, Ridge()),
            "sklearn_mlp": scaled_pipeline(schema, MLPRegressor(max_iter=2000, random_state=SEED)),
        }
    return {
        "logistic": scaled_pipeline(schema, LogisticRegression(max_iter=5000)),
        "sklearn_mlp": scaled_pipeline(schema, MLPClassifier(max_iter=2000, random_state=SEED)),
    }


def baselines(schema: Schema, threshold: float | None, top_k: int) -> dict[str, dict[str, float]]:
    """Every baseline's holdout metrics, fitted on the training split."""
    from threadpoolctl import threadpool_limits

    from pipeline.ml.baseline import Baseline

    x_train, y_train = whole("train", schema)
    x_holdout, y_holdout = whole("holdout", schema)
    scored: dict[str, dict[str, float]] = {}
    with threadpool_limits(1):  # see ml/baseline.py: threads spin on a busy machine
        for name, model in classical(schema).items():
            model.fit(x_train.astype({c: object for c in x_train if schema.kinds[c] != NUMERIC}), y_train)
            x = x_holdout.astype({c: object for c in x_holdout if schema.kinds[c] != NUMERIC})
            if schema.task == REGRESSION:
                out = np.asarray(model.predict(x), dtype="float64")
            else:
                out = np.zeros((len(x), len(schema.class_labels)))
                out[:, model.classes_.astype(int)] = model.predict_proba(x)
            scored[name] = m.task_metrics(schema.task, y_holdout, out, threshold, top_k)
    hgb = Baseline(schema, SEED)
    y, out = hgb.score_split("holdout")
    scored["hist_gradient_boosting"] = m.task_metrics(schema.task, y, out, threshold, top_k)
    return scored


def workspace() -> dict[str, Any]:
    """This workspace's model (metrics.json) against the baselines on its splits."""
    from pipeline.io.params import load_params

    schema, params = read_schema(), load_params()
    threshold = read_json(paths.THRESHOLD)["threshold"]
    ours = {k: v for k, v in read_json(paths.METRICS).items() if not k.startswith("baseline_")}
    return {
        "rows": dict(schema.split_sizes),
        "task": schema.task,
        "model": ours,
        **baselines(schema, threshold, params.train.top_k),
    }


def bundled(dataset: str) -> dict[str, Any]:
    """Fetch, prepare, train and evaluate at the default params in a temporary folder, then the
    baselines on the same splits."""
    from pipeline.core.config import parse_params
    from pipeline.stages.evaluate import evaluate
    from pipeline.stages.fetch import fetch
    from pipeline.stages.prepare import prepare
    from pipeline.stages.train import train

    params = parse_params(
        {
            "data": {"path": f"data/raw/{dataset}.csv", "target": "target"},
            "evaluate": {"baseline": False},
            "register": {"model_name": dataset},
            "mlflow": {"experiment": "bench-baseline"},
        }
    )
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        # A throw-away store in the folder, named absolutely: MLflow caches a store per URI, and a
        # relative one would reach the previous data set's deleted folder.
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{Path(folder).resolve() / 'mlflow.db'}"
        try:
            fetch(dataset)
            prepare(params)
            train(params)
            ours = evaluate(params)
            return {
                "dataset": dataset,
                "rows": dict(read_schema().split_sizes),
                "task": read_schema().task,
                "model": ours,
                **baselines(read_schema(), read_json(paths.THRESHOLD)["threshold"], params.train.top_k),
            }
        finally:
            os.chdir(here)


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| data set | task | train / holdout rows | metric | model (default params) | logistic / ridge "
        "| sklearn MLP | HistGradientBoosting | the model against the best |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        metric = "r2" if result["task"] == REGRESSION else "accuracy"
        linear_name = "ridge" if "ridge" in result else "logistic"
        linear = result[linear_name]
        others = {linear_name: linear, "sklearn MLP": result["sklearn_mlp"]}
        others["HistGradientBoosting"] = result["hist_gradient_boosting"]
        best = max(others, key=lambda name: others[name][metric])
        holdout = result["rows"]["holdout"]
        found = compare(
            result["task"],
            {metric: result["model"][metric], f"baseline_{metric}": others[best][metric]},
            holdout,
        )
        assert found is not None
        how = (
            f"{found.outcome} {best} ({found.margin:+.0f} errors)"
            if metric == "accuracy"
            else (f"{found.outcome} {best} ({found.margin:+.3f} R²)")
        )
        lines.append(
            f"| {result['dataset']} | {result['task']} | {result['rows']['train']} / {holdout} | {metric} "
            f"| {result['model'][metric]:.3f} | {linear[metric]:.3f} | {result['sklearn_mlp'][metric]:.3f} "
            f"| {result['hist_gradient_boosting'][metric]:.3f} | {how} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bundled", nargs="*", choices=BUNDLED, help="the bundled tables (all when none named)"
    )
    args = parser.parse_args(argv)
    if args.bundled is None:
        print(json.dumps(workspace()))
        return
    results = []
    for dataset in args.bundled or BUNDLED:
        results.append(bundled(dataset))
        print(f"[baseline] {json.dumps(results[-1])}", flush=True)
    print(table(results))


if __name__ == "__main__":
    main()
