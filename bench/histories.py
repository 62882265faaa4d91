"""Provoked training histories from real fits, labelled: the set the curve diagnosis is measured on.

    python -m bench.histories                       # fit every case, write tests/core/histories/*.json
    python -m bench.histories --only wine           # the cases of some data sets
    python -m bench.histories --score               # the diagnosis on the saved set: one line, no training

Each case trains the project's own model (its preprocessing, loss, callbacks: checkpoint, early
stopping, the learning-rate schedule, the divergence guard) on a bundled table with params that
provoke one failure the Keras workflow teaches to read from the curves, and saves the History
with what the callbacks did (the epoch early stopping ended the run, the guard's message). The
label is fixed by the provocation before any curve is seen, never read off the diagnosis:

| case | provoking params | label |
|---|---|---|
| healthy | the defaults | healthy |
| lr_too_high | Adam at 0.3 | lr_too_high (diverged when the guard stopped it) |
| lr_too_low | Adam at 1e-6 for 40 epochs | lr_too_low |
| overfitting | 512x512 units, no dropout, 20 % of the rows, 300 epochs, no early stop | overfitting |
| underfitting | 4 units, dropout 0.5, 8 epochs | underfitting |
| noisy_validation | the defaults with a 5 % validation split | healthy |

`diabetes_x1000` is diabetes with its target in the hundreds of thousands (times 1,000): the loss
scale must not change a verdict. The tests (`tests/core/test_diagnosis_histories.py`) assert the
exact verdict on each file; `--score` prints the share right (the target is >= 90 %).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench.measure import ROOT

HISTORIES = ROOT / "tests" / "core" / "histories"
DATASETS = ("breast_cancer", "wine", "digits", "diabetes", "diabetes_x1000")
NO_STOP = {"train.early_stopping.patience": 10_000, "train.reduce_lr.patience": 10_000}
CASES: dict[str, tuple[dict[str, Any], str]] = {
    "healthy": ({}, "healthy"),
    "lr_too_high": ({"train.learning_rate": 0.3}, "lr_too_high"),
    "lr_too_low": ({"train.learning_rate": 1e-6, "train.epochs": 40}, "lr_too_low"),
    "overfitting": (
        {
            "model.hidden_units": [512, 512],
            "model.dropout": 0.0,
            "train.epochs": 300,
            "prepare.val_size": 0.2,
            "prepare.holdout_size": 0.6,
            **NO_STOP,
        },
        "overfitting",
    ),
    "underfitting": ({"model.hidden_units": [4], "model.dropout": 0.5, "train.epochs": 8}, "underfitting"),
    "noisy_validation": ({"prepare.val_size": 0.05}, "healthy"),
}


def expected(case: str, diverged: str | None) -> str:
    """The label: the provocation's, except that a run the divergence guard stopped is `diverged`."""
    label = CASES[case][1]
    return "diverged" if case == "lr_too_high" and diverged else label


def params_for(dataset: str, overrides: Mapping[str, Any], seed: int = 0):
    from pipeline.core.config import parse_params

    raw: dict[str, Any] = {
        "base": {"seed": seed},
        "data": {"path": f"data/raw/{dataset}.csv", "target": "target"},
        "register": {"model_name": "histories"},
        "mlflow": {"experiment": "histories"},
    }
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        section = raw
        for key in parents:
            section = section.setdefault(key, {})
        section[leaf] = value
    return parse_params(raw)


def write_table(dataset: str) -> None:
    """The bundled table (fetch's own CSV), or diabetes with its target times 1,000."""
    import pandas as pd

    from pipeline.stages.fetch import fetch

    if dataset != "diabetes_x1000":
        fetch(dataset)
        return
    fetch("diabetes")
    frame = pd.read_csv("data/raw/diabetes.csv")
    frame["target"] = frame["target"] * 1000.0
    frame.to_csv("data/raw/diabetes_x1000.csv", index=False)


def fit(params) -> dict[str, Any]:
    """The train stage's fit, without MLflow: the History and what the callbacks did."""
    from pipeline.core.errors import TrainingDiverged
    from pipeline.core.stats import feature_contract
    from pipeline.io.data import read_schema
    from pipeline.ml.callbacks import build_callbacks, checkpoint_epoch, early_stopped_epoch
    from pipeline.ml.model import build_model, compile_model, seed_everything
    from pipeline.stages.prepare import prepare
    from pipeline.stages.train import check_before_training, inputs, training_stats

    prepare(params)
    schema = read_schema()
    spec = check_before_training(params, schema)
    seed_everything(params.base.seed)
    stats = training_stats(schema, params.base.seed)
    contract = feature_contract(schema, stats, params.model.embed_above)
    train_data, val_data = inputs(params, schema, spec, contract)
    model = build_model(contract, spec, params.model, stats.target)
    compile_model(model, spec, params.train)
    rows: list[dict[str, float]] = []
    shutil.rmtree("work", ignore_errors=True)
    callbacks = build_callbacks(
        params.train,
        Path("work/best.weights.h5"),
        lambda epoch, logs: rows.append({"epoch": epoch, **logs}),
        Path("work/backup"),
    )
    diverged = None
    try:
        model.fit(
            train_data,
            validation_data=val_data,
            epochs=params.train.epochs,
            callbacks=callbacks,
            shuffle=False,
            verbose=0,
        )
    except TrainingDiverged as exc:
        diverged = str(exc)
    keys = [k for k in rows[0] if k not in ("epoch", "epoch_seconds")] if rows else []
    history = {k: [float(f"{row[k]:.6g}") for row in rows] for k in keys}
    ckpt = params.train.checkpoint
    return {
        "task": schema.task,
        "rows": dict(schema.split_sizes),
        "epochs": params.train.epochs,
        "history": history,
        "early_stopped_epoch": None if diverged else early_stopped_epoch(callbacks),
        "diverged": diverged,
        "kept_epoch": checkpoint_epoch(history, ckpt.monitor, ckpt.mode) if history else None,
    }


def generate(datasets: list[str], cases: list[str], seed: int = 0, folder: Path = HISTORIES) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for dataset in datasets:
        with tempfile.TemporaryDirectory() as work:
            here = os.getcwd()
            os.chdir(work)
            try:
                write_table(dataset)
                for case in cases:
                    overrides = CASES[case][0]
                    found = fit(params_for(dataset, overrides, seed))
                    record = {
                        "dataset": dataset,
                        "case": case,
                        "label": expected(case, found["diverged"]),
                        "params": {**overrides, **({"base.seed": seed} if seed else {})},
                        **found,
                    }
                    path = folder / f"{dataset}-{case}.json"
                    path.write_text(json.dumps(record, indent=1) + "\n")
                    epochs = len(next(iter(found["history"].values()), []))
                    print(
                        f"[histories] {dataset} {case}: {epochs} epochs, label {record['label']}, "
                        f"stopped early {found['early_stopped_epoch']}, diverged {bool(found['diverged'])}",
                        flush=True,
                    )
            finally:
                os.chdir(here)


def load(folder: Path = HISTORIES) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def verdict_of(record: Mapping[str, Any]):
    """The diagnosis as the train stage calls it, with what the callbacks did."""
    from pipeline.core.diagnosis import diagnose

    return diagnose(
        record["history"],
        kept_epoch=record["kept_epoch"],
        early_stopped_epoch=record["early_stopped_epoch"],
        diverged=record["diverged"],
    )


def score(folder: Path = HISTORIES) -> tuple[int, int, list[str]]:
    """(right, total, one line per miss)."""
    records = load(folder)
    misses = []
    for record in records:
        found = verdict_of(record)
        if found.verdict != record["label"]:
            misses.append(
                f"{record['dataset']}-{record['case']}: {found.verdict} (labelled {record['label']}): "
                f"{found.reason}"
            )
    return len(records) - len(misses), len(records), misses


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.histories", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=DATASETS, help="these data sets only")
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), help="these cases only")
    parser.add_argument("--score", action="store_true", help="score the saved set; fit nothing")
    parser.add_argument(
        "--seed", type=int, default=0, help="base.seed of the fits (another seed: a fresh set)"
    )
    parser.add_argument("--folder", type=Path, default=HISTORIES, help="where the set is written and read")
    args = parser.parse_args(argv)
    if not args.score:
        generate(list(args.only or DATASETS), list(args.cases or CASES), args.seed, args.folder)
    right, total, misses = score(args.folder)
    for line in misses:
        print(f"  miss: {line}")
    print(
        f"diagnosis on {total} labelled histories from real fits: {right}/{total} right ({right / total:.0%})"
    )


if __name__ == "__main__":
    main()
