"""Evaluate's results recorded on the pipeline's MLflow run: the holdout split as a dataset
input, the metrics (the network's as `holdout_<name>`, the baseline's as they are), the
baseline's verdict and the threshold as tags, the plot data and figures as artifacts.

The register stage records them, from evaluate's files, before it registers: evaluate itself
then imports no MLflow, which saves a `dvc repro` a second or more of start-up
(bench/RESULTS.md), and the run holds the same record as if evaluate had written it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.core.baseline import Comparison
from pipeline.core.schema import Schema
from pipeline.io import dataset_logging, paths, tracking


def log_evaluation(
    source: str,
    schema: Schema,
    metrics: Mapping[str, float],
    chosen: Mapping[str, Any],
    comparison: Comparison | None,
) -> None:
    """On the active run: `metrics` and `chosen` as evaluate wrote them (metrics.json,
    threshold.json), `comparison` read from the same metrics; `source` is `data.path`."""
    dataset_logging.log_split("holdout", "holdout", source, schema)
    values = {(name if name.startswith("baseline_") else f"holdout_{name}"): v for name, v in metrics.items()}
    tags: dict[str, Any] = {"threshold_policy": chosen["policy"]}
    if comparison is not None:
        values["baseline_margin"] = comparison.margin
        tags.update({"baseline": comparison.outcome, "baseline.line": comparison.line()})
    if chosen["threshold"] is not None:
        values["threshold"] = float(chosen["threshold"])
        tags["threshold"] = chosen["threshold"]
    tracking.record(metrics=values, tags=tags)
    # The holdout answers too: drift compares a version's served answers with its own.
    for artifact in (paths.METRICS, paths.THRESHOLD, paths.PREDICTIONS, *sorted(paths.EVAL_PLOTS.iterdir())):
        tracking.log_artifact(artifact, "eval")
    for figure in sorted(paths.FIGURES.iterdir()):
        tracking.log_artifact(figure, "plots")
