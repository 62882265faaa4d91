"""Default params, lr-find's recommendation and `make tune`'s winner, against classical baselines.

Per bundled data set, in a fresh git repository made from this one's tracked files (the user's
store and params stay untouched), on the pipeline's own splits:

1. `dvc repro` with the default params;
2. `python -m pipeline.lr_find`, then `dvc repro` with its recommended rate;
3. `python -m pipeline.tune` (budget: `--budget-s` per data set, `--trials` at most), then
   `dvc repro` with the configuration it wrote into params.yaml;
4. logistic (classification) or ridge (regression) regression, scikit-learn's MLP and
   HistGradientBoosting, fitted on the same training split and scored on the same holdout.

Every figure is the holdout's: accuracy (and the number of holdout errors) or R². The issue's goal:
the tuned network within one holdout error (0.01 R²) of the best baseline.

    python -m bench.tune                                   # the full table: 4 data sets, 15 min each
    python -m bench.tune --datasets wine --budget-s 120    # a smaller one
    python -m bench.tune --datasets --table titanic.csv --target survived   # a table of yours

A table of yours is copied into the project and trained from raw rows, as `data.path` and
`data.target` alone would (text columns, missing values, ids: the pipeline's own handling).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import project_env, run
from bench.pipeline import repository
from pipeline.core.config import BUNDLED_DATASETS
from pipeline.core.tasks import REGRESSION
from pipeline.io.params_update import set_values

FULL_BUDGET_S = 900.0


def holdout_metric(metrics: dict, task: str, rows: int) -> str:
    if task == REGRESSION:
        return f"R² {metrics['r2']:.3f}"
    errors = round((1 - metrics["accuracy"]) * rows)
    return f"{metrics['accuracy']:.3f} ({errors} err)"


def score(metrics: dict, task: str) -> float:
    return metrics["r2"] if task == REGRESSION else metrics["accuracy"]


def baselines(repo: Path) -> tuple[str, int, dict[str, dict]]:
    """The classical models on the prepared splits of `repo` (bench/baseline.py's, fitted on the
    same training split): task, holdout rows, metrics by name."""
    import os

    from bench.baseline import baselines as fitted
    from pipeline.io.data import read_schema
    from pipeline.io.files import read_json
    from pipeline.io.params import load_params

    here = os.getcwd()
    os.chdir(repo)
    try:
        schema, params = read_schema(), load_params()
        threshold = read_json("reports/eval/threshold.json")["threshold"]
        found = fitted(schema, threshold, params.train.top_k)
    finally:
        os.chdir(here)
    return schema.task, schema.split_sizes["holdout"], found


def one_dataset(
    dataset: str,
    budget_s: float,
    trials: int,
    lr_budget_s: float,
    log: Path,
    table: tuple[Path, str] | None = None,
) -> dict:
    """The four columns of one data set: bundled (`dataset`), or `table` = (file, target column)."""
    dvc, python = str(Path(sys.executable).parent / "dvc"), sys.executable
    env = project_env()
    env.pop("MLFLOW_TRACKING_URI", None)
    with tempfile.TemporaryDirectory(prefix=f"bench-tune-{dataset}-") as tmp:
        repo = repository(Path(tmp))
        data = {"fetch.dataset": dataset, "data.path": f"data/raw/{dataset}.csv"}
        if table is not None:
            source, target = table
            (repo / "data/user").mkdir(parents=True, exist_ok=True)
            shutil.copy(source, repo / "data/user" / source.name)
            data = {"data.path": f"data/user/{source.name}", "data.target": target}
        set_values(
            {
                **data,
                "register.model_name": f"{dataset.replace('_', '-')}-model",
                "tune.timeout_s": budget_s,
                "tune.n_trials": trials,
                "lr_find.budget_s": lr_budget_s,
            },
            repo / "params.yaml",
        )
        metrics_path = repo / "reports/eval/metrics.json"
        started = time.monotonic()
        run([dvc, "repro"], repo, log, env)
        default = json.loads(metrics_path.read_text())
        task, rows, classical = baselines(repo)
        run([python, "-m", "pipeline.lr_find"], repo, log, env)
        found = json.loads((repo / "reports/lr_find/lr_find.json").read_text())
        set_values({"train.learning_rate": found["recommended"]}, repo / "params.yaml")
        run([dvc, "repro"], repo, log, env)
        lr_found = json.loads(metrics_path.read_text())
        set_values({"train.learning_rate": 0.001}, repo / "params.yaml")
        tune_started = time.monotonic()
        run([python, "-m", "pipeline.tune"], repo, log, env)
        tune_s = time.monotonic() - tune_started
        run([dvc, "repro"], repo, log, env)
        tuned = json.loads(metrics_path.read_text())
        from pipeline.io.params import load_params

        chosen = load_params(repo / "params.yaml")
    return {
        "dataset": dataset,
        "task": task,
        "rows": rows,
        "default": default,
        "lr_find": lr_found,
        "lr_find_rate": found["recommended"],
        "tuned": tuned,
        "tuned_config": (
            f"{chosen.train.optimizer} lr {chosen.train.learning_rate:.3g} bs {chosen.train.batch_size} "
            f"{'x'.join(map(str, chosen.model.hidden_units))} dropout {chosen.model.dropout:.2f}"
        ),
        "tune_s": tune_s,
        "baselines": classical,
        "minutes": (time.monotonic() - started) / 60,
    }


def goal_met(result: dict) -> bool:
    task, rows = result["task"], result["rows"]
    best = max(score(b, task) for b in result["baselines"].values())
    ours = score(result["tuned"], task)
    return ours >= best - (0.01 if task == REGRESSION else 1 / rows + 1e-9)


# A classification table's linear baseline is logistic regression, a regression's ridge: one column.
LINEAR = {"logistic": "logistic / ridge", "ridge": "logistic / ridge"}


def report(results: list[dict], budget_s: float, trials: int, command: str) -> str:
    """The Markdown table of `results`, one row per data set; classification and regression
    tables mix (their linear baselines share a column)."""
    names = list(dict.fromkeys(LINEAR.get(n, n) for r in results for n in r["baselines"]))
    lines = [
        "## A good model: default params, lr-find, tune, and classical baselines",
        "",
        f"Command: `{command}`: per data set, in a fresh copy of the project, `dvc repro` with the default "
        f"params, with lr-find's recommended rate, and with `make tune`'s winner (budget {budget_s:g} s "
        f"and at most {trials} trials per data set), then the baselines fitted on the same training "
        "split. Holdout accuracy (holdout errors) or R².",
        "",
        "| data set | default | lr-find (rate) | tuned (configuration, search time) | "
        + " | ".join(names)
        + " | tuned within one error / 0.01 R² of the best baseline |",
        "|---|---|---|---|" + "---|" * len(names) + "---|",
    ]
    for r in results:
        task, rows = r["task"], r["rows"]
        cells = [
            r["dataset"],
            holdout_metric(r["default"], task, rows),
            f"{holdout_metric(r['lr_find'], task, rows)} ({r['lr_find_rate']:g})",
            f"{holdout_metric(r['tuned'], task, rows)} ({r['tuned_config']}; {r['tune_s']:.0f} s)",
            *(
                next(
                    (
                        holdout_metric(m, task, rows)
                        for n, m in r["baselines"].items()
                        if LINEAR.get(n, n) == name
                    ),
                    "",
                )
                for name in names
            ),
            "met" if goal_met(r) else "**not met**",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tune", description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", choices=BUNDLED_DATASETS, default=list(BUNDLED_DATASETS))
    parser.add_argument("--table", type=Path, help="a CSV or parquet table of yours, trained from raw rows")
    parser.add_argument("--target", help="its label column (with --table)")
    parser.add_argument("--budget-s", type=float, default=FULL_BUDGET_S, help="tune.timeout_s per data set")
    parser.add_argument("--trials", type=int, default=500, help="tune.n_trials per data set (a cap)")
    parser.add_argument("--lr-find-budget-s", type=float, default=600.0)
    parser.add_argument(
        "--report",
        type=Path,
        help="no run: the table of the result lines (JSON) a run printed to stderr, kept in this file",
    )
    args = parser.parse_args()
    if args.report is not None:
        lines = args.report.read_text().splitlines()
        results = [json.loads(line) for line in lines if line.startswith("{")]
        print(
            report(
                results, args.budget_s, args.trials, f"python -m bench.tune (results of {args.report.name})"
            )
        )
        return
    if args.table is not None and not args.target:
        parser.error("--table needs --target: the name of its label column")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-tune-log-") as folder:
        log = Path(folder) / "bench.log"
        for dataset in args.datasets:
            print(f"[bench.tune] {dataset}", file=sys.stderr, flush=True)
            results.append(one_dataset(dataset, args.budget_s, args.trials, args.lr_find_budget_s, log))
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
        if args.table is not None:
            name = args.table.stem
            print(
                f"[bench.tune] {name} ({args.table.name}, target {args.target})", file=sys.stderr, flush=True
            )
            results.append(
                one_dataset(
                    name,
                    args.budget_s,
                    args.trials,
                    args.lr_find_budget_s,
                    log,
                    (args.table.resolve(), args.target),
                )
            )
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    command = (
        " ".join(["python -m bench.tune --datasets", *args.datasets])
        + f" --budget-s {args.budget_s:g} --trials {args.trials} --lr-find-budget-s {args.lr_find_budget_s:g}"
        + (f" --table {args.table.name} --target {args.target}" if args.table is not None else "")
    )
    print(report(results, args.budget_s, args.trials, command))


if __name__ == "__main__":
    main()
