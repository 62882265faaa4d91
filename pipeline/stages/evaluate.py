"""Stage `evaluate`: the threshold chosen on validation, metrics on the holdout split only."""

from __future__ import annotations

import pandas as pd

from pipeline.core.config import Params
from pipeline.core.metrics import binary_metrics, confusion_rows, pr_points, roc_points
from pipeline.core.postprocess import predict_labels
from pipeline.core.threshold import choose_threshold
from pipeline.io import paths, tracking
from pipeline.io.cli import run_stage
from pipeline.io.data import read_schema, read_split
from pipeline.io.files import atomic_path, read_json, write_json
from pipeline.io.params import load_params


def evaluate(params: Params) -> dict[str, float]:
    schema = read_schema()
    run = read_json(paths.RUN)

    from pipeline.ml.model import load_model
    from pipeline.ml.scoring import class_probabilities

    model = load_model(paths.MODEL)
    x_val, y_val = read_split("val", schema)
    x_holdout, y_holdout = read_split("holdout", schema)

    p_val = class_probabilities(model, x_val, schema.task)[:, 1]
    policy = params.evaluate.threshold_policy
    threshold = choose_threshold(policy, y_val, p_val, params.evaluate.threshold)

    probs = class_probabilities(model, x_holdout, schema.task)
    p_holdout = probs[:, 1]
    metrics = binary_metrics(y_holdout, p_holdout, threshold)
    predicted = predict_labels(probs, schema.class_labels, threshold)
    actual = [schema.class_labels[i] for i in y_holdout]

    write_json(paths.METRICS, metrics)
    write_json(paths.THRESHOLD, {"threshold": threshold, "policy": policy, "chosen_on": "val"})
    write_json(paths.ROC, roc_points(y_holdout, p_holdout))
    write_json(paths.PR, pr_points(y_holdout, p_holdout))
    write_json(paths.CONFUSION, confusion_rows(actual, predicted))
    # The holdout's own answers: what the service must reproduce for the same rows.
    answers = pd.DataFrame(probs, columns=[f"p_{label}" for label in schema.class_labels])
    answers.insert(0, "label", [str(label) for label in predicted])
    with atomic_path(paths.PREDICTIONS) as tmp:
        answers.to_parquet(tmp, index=False)

    with tracking.reopen_run(run["run_id"]):
        tracking.log_metrics({f"holdout_{name}": value for name, value in metrics.items()})
        tracking.log_metrics({"threshold": threshold})
        tracking.set_tags({"threshold": threshold, "threshold_policy": policy})
        for artifact in (paths.METRICS, paths.THRESHOLD, paths.ROC, paths.PR, paths.CONFUSION):
            tracking.log_artifact(artifact, "eval")
    shown = ", ".join(f"{name} {value:.4f}" for name, value in metrics.items())
    print(f"[evaluate] holdout ({len(y_holdout)} rows, threshold {threshold:.3f}): {shown}")
    return metrics


def main() -> None:
    run_stage("evaluate", lambda: evaluate(load_params()))


if __name__ == "__main__":
    main()
