"""The pipeline's model against scikit-learn's HistGradientBoosting on the same splits.

Run in a workspace after `dvc repro`: the gradient-boosted model (native categorical and
missing-value support) is fitted on the training split, as the network was, and both are
scored on the holdout with the pipeline's own metrics. Prints one JSON line: each model's
metrics, and the gap in holdout errors (classification) or in R² (regression).

    python -m bench.baseline
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from pipeline.core import metrics as m
from pipeline.core.contract import NUMERIC
from pipeline.core.postprocess import outputs
from pipeline.core.splitting import encode_labels
from pipeline.core.tasks import REGRESSION
from pipeline.io import paths
from pipeline.io.data import read_schema
from pipeline.io.files import read_json
from pipeline.io.params import load_params


def frame(split: str, schema) -> tuple[pd.DataFrame, np.ndarray]:
    table = pd.read_parquet(paths.split_path(split))
    x = pd.DataFrame(
        {
            name: table[name].astype("float64") if kind == NUMERIC else table[name].astype("category")
            for name, kind in schema.kinds.items()
        }
    )
    y = table[schema.target]
    return x, (y.to_numpy("float64") if schema.task == REGRESSION else encode_labels(y, schema.class_labels))


def main() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    schema, params = read_schema(), load_params()
    x_train, y_train = frame("train", schema)
    x_holdout, y_holdout = frame("holdout", schema)
    x_holdout = x_holdout.astype(
        {c: pd.CategoricalDtype(x_train[c].cat.categories) for c in x_train if x_train[c].dtype == "category"}
    )
    kind = HistGradientBoostingRegressor if schema.task == REGRESSION else HistGradientBoostingClassifier
    baseline = kind(categorical_features="from_dtype", random_state=params.base.seed).fit(x_train, y_train)
    if schema.task == REGRESSION:
        answers = baseline.predict(x_holdout)
    else:
        answers = baseline.predict_proba(x_holdout)
    threshold = read_json(paths.THRESHOLD)["threshold"]
    ours = read_json(paths.METRICS)
    theirs = m.task_metrics(
        schema.task,
        y_holdout,
        outputs(answers, schema.task) if schema.task == REGRESSION else answers,
        threshold,
        params.train.top_k,
    )
    result = {
        "rows": {"train": len(y_train), "holdout": len(y_holdout)},
        "model": ours,
        "hist_gradient_boosting": theirs,
    }
    if schema.task == REGRESSION:
        result["r2_gap"] = ours["r2"] - theirs["r2"]
    else:
        result["holdout_errors_gap"] = round((theirs["accuracy"] - ours["accuracy"]) * len(y_holdout), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
