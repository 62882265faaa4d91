"""Stage `evaluate`: the threshold chosen on validation, metrics on the holdout split only.

It writes files only; the register stage records them on the MLflow run
(io/evaluation_logging.py), so this stage starts without MLflow."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd

from pipeline.core import metrics as m
from pipeline.core.baseline import Comparison, baseline_metrics, compare
from pipeline.core.config import Params
from pipeline.core.postprocess import predict_labels
from pipeline.core.schema import Schema
from pipeline.core.tasks import BINARY, MULTICLASS, REGRESSION
from pipeline.core.threshold import choose_threshold
from pipeline.io import paths
from pipeline.io.cli import run_and_exit, run_stage
from pipeline.io.data import read_contract, read_schema, split_blocks
from pipeline.io.figures import plot_bars, plot_confusion, plot_xy
from pipeline.io.files import atomic_path, write_json
from pipeline.io.params import load_params
from pipeline.ml.scoring import model_logits, split_outputs


def decision_threshold(params: Params, schema: Schema, y_val: np.ndarray, out_val: np.ndarray) -> dict:
    """Binary models get a threshold chosen on validation; other tasks have none."""
    if schema.task != BINARY:
        return {"threshold": None, "policy": f"none ({schema.task})", "chosen_on": None}
    policy = params.evaluate.threshold_policy
    threshold = choose_threshold(
        policy, y_val, out_val[:, 1], params.evaluate.threshold, params.evaluate.target
    )
    return {"threshold": threshold, "policy": policy, "chosen_on": "val"}


def write_plots(schema: Schema, y: np.ndarray, out: np.ndarray, threshold: float | None) -> None:
    """The task's plot data (MLflow's `eval` artifacts) and the same plots as images: MLflow's
    `plots` and the panels `dvc plots show` draws, which are therefore only the task's own.

    Both folders are rebuilt whole, so a file of another task never lingers beside them.
    """
    for folder in (paths.EVAL_PLOTS, paths.FIGURES):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    figures = paths.FIGURES
    if schema.task == REGRESSION:
        rows = m.residual_rows(y, out)
        write_json(paths.RESIDUALS, rows)
        plot_xy(
            rows,
            "actual",
            "predicted",
            "predicted vs actual (holdout)",
            figures / "predicted_vs_actual.png",
            diagonal=True,
            line=False,
        )
        plot_xy(rows, "predicted", "residual", "residuals (holdout)", figures / "residuals.png", line=False)
        return
    labels = schema.class_labels
    actual = [labels[i] for i in y]
    predicted = predict_labels(out, labels, threshold)
    write_json(paths.CONFUSION, m.confusion_rows(actual, predicted))
    plot_confusion(actual, predicted, labels, figures / "confusion.png")
    if schema.task == BINARY:
        roc, pr = m.roc_points(y, out[:, 1]), m.pr_points(y, out[:, 1])
        write_json(paths.ROC, roc)
        write_json(paths.PR, pr)
        plot_xy(roc, "fpr", "tpr", "ROC (holdout)", figures / "roc.png", diagonal=True)
        plot_xy(pr, "recall", "precision", "precision-recall (holdout)", figures / "pr.png")
    if schema.task == MULTICLASS:
        per_class = m.per_class_rows(actual, predicted, labels)
        write_json(paths.PER_CLASS, per_class)
        plot_bars(per_class, "f1", "class", "F1 per class (holdout)", figures / "per_class_f1.png")


def predictions_table(schema: Schema, out: np.ndarray, threshold: float | None) -> pd.DataFrame:
    """The holdout's own answers: what the service must reproduce for the same rows."""
    if schema.task == REGRESSION:
        return pd.DataFrame({"value": out})
    table = pd.DataFrame(out, columns=[f"p_{label}" for label in schema.class_labels])
    table.insert(0, "label", [str(label) for label in predict_labels(out, schema.class_labels, threshold)])
    return table


def fit_baseline(params: Params, schema: Schema, threshold: float | None) -> tuple[str, dict[str, float]]:
    """HistGradientBoosting on the same training split, scored on the same holdout at the same
    threshold: its name and its metrics, named `baseline_<metric>`."""
    from pipeline.ml.baseline import Baseline

    baseline = Baseline(schema, params.base.seed)
    y, out = baseline.score_split("holdout")
    return baseline.name, baseline_metrics(m.task_metrics(schema.task, y, out, threshold, params.train.top_k))


def evaluate(params: Params) -> dict[str, float]:
    schema = read_schema()

    features = read_contract().features
    call = model_logits(paths.MODEL)
    y_val, out_val = split_outputs(call, split_blocks("val", schema, features), schema.task)
    y_holdout, out = split_outputs(call, split_blocks("holdout", schema, features), schema.task)

    chosen = decision_threshold(params, schema, y_val, out_val)
    threshold = chosen["threshold"]
    metrics = m.task_metrics(schema.task, y_holdout, out, threshold, params.train.top_k)
    comparison: Comparison | None = None
    if params.evaluate.baseline:
        baseline_name, theirs = fit_baseline(params, schema, threshold)
        metrics.update(theirs)
        comparison = compare(schema.task, metrics, len(y_holdout))

    write_json(paths.METRICS, metrics)
    write_json(paths.THRESHOLD, chosen)
    write_plots(schema, y_holdout, out, threshold)
    with atomic_path(paths.PREDICTIONS) as tmp:
        predictions_table(schema, out, threshold).to_parquet(tmp, index=False)

    shown = ", ".join(
        f"{name} {value:.4f}" for name, value in metrics.items() if not name.startswith("baseline_")
    )
    at = f", threshold {threshold:.3f}" if threshold is not None else ""
    print(f"[evaluate] holdout ({len(y_holdout)} rows{at}): {shown}")
    if comparison is not None:
        theirs_shown = ", ".join(
            f"{name.removeprefix('baseline_')} {value:.4f}"
            for name, value in metrics.items()
            if name.startswith("baseline_")
        )
        print(f"[evaluate] baseline {baseline_name} (same training split, same holdout): {theirs_shown}")
        print(f"[evaluate] {comparison.line()}")
    return metrics


def main() -> None:
    run_stage("evaluate", lambda: evaluate(load_params()))


if __name__ == "__main__":
    run_and_exit(main)
