"""`python -m pipeline.compare` (`make compare`): the last runs side by side, outside the UI.

    python -m pipeline.compare --last 5      # the five latest runs of the experiment
    python -m pipeline.compare --champion    # the champion's run first, then the latest others

One column per run: its name, status, registered version and whether it was promoted, the
key params, the diagnosis, every holdout metric and the baseline's beside them (`baseline`:
whether the network beats, matches or trails it; `baseline_margin`: by how many holdout errors,
or how much R²), so `dvc exp show` and the MLflow compare
view can be checked against one printout.
"""

from __future__ import annotations

import argparse

import pandas as pd

from pipeline.io import registry, tracking
from pipeline.io.cli import run_and_exit, run_stage
from pipeline.io.params import load_params

KEY_PARAMS = (
    "data.path",
    "model.hidden_units",
    "model.dropout",
    "train.optimizer",
    "train.learning_rate",
    "train.batch_size",
    "train.epochs",
)
KEY_TAGS = (
    "registered_version",
    "promoted",
    "train.epochs_run",
    "train.weights_epoch",
    "diagnosis",
    "baseline",
    "dvc_experiment",
)


def side_by_side(runs: pd.DataFrame, champion_run: str | None) -> str:
    """A table with one column per run (as `mlflow.search_runs` returns them), rows per field."""
    if runs.empty:
        return "no runs yet: run the pipeline first (make run)"
    rows: dict[str, list] = {"run": [], "status": []}
    holdout = sorted(c for c in runs.columns if c.startswith("metrics.holdout_"))
    # The baseline's holdout metrics (and the network's lead over it) right under the network's.
    baseline = sorted(c for c in runs.columns if c.startswith("metrics.baseline_"))
    fields = [f"params.{p}" for p in KEY_PARAMS] + [f"tags.{t}" for t in KEY_TAGS] + holdout + baseline
    for _, run in runs.iterrows():
        mark = " (champion)" if run["run_id"] == champion_run else ""
        rows["run"].append(f"{run.get('tags.mlflow.runName', '')} [{run['run_id'][:8]}]{mark}")
        rows["status"].append(run["status"])
        for field in fields:
            value = run.get(field)
            shown = "" if value is None or (isinstance(value, float) and pd.isna(value)) else value
            if isinstance(shown, float):
                shown = f"{shown:.4f}"
            rows.setdefault(field.split(".", 1)[1], []).append(shown)
    table = pd.DataFrame(rows).set_index("run").T
    return table.to_string()


def compare(last: int, champion_first: bool) -> str:
    params = load_params()
    tracking.configure()
    import mlflow

    runs = mlflow.search_runs(
        experiment_names=[params.mlflow.experiment], order_by=["attributes.start_time DESC"], max_results=last
    )
    current = registry.champion(params.registry.model_name)
    champion_run = current.run_id if current is not None else None
    if champion_first and champion_run is not None:
        if champion_run not in set(runs["run_id"]):
            runs = pd.concat(
                [
                    mlflow.search_runs(
                        experiment_names=[params.mlflow.experiment],
                        filter_string=f"attributes.run_id = '{champion_run}'",
                    ),
                    runs.iloc[: last - 1],
                ]
            )
        runs = pd.concat([runs[runs["run_id"] == champion_run], runs[runs["run_id"] != champion_run]])
    return side_by_side(runs.reset_index(drop=True), champion_run)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.compare", description=__doc__.splitlines()[0])
    parser.add_argument("--last", type=int, default=5, help="how many runs (default 5)")
    parser.add_argument("--champion", action="store_true", help="the champion's run first")
    args = parser.parse_args(argv)
    run_stage("compare", lambda: print(compare(args.last, args.champion)))


if __name__ == "__main__":
    run_and_exit(main)
