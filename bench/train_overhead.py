"""Training stage vs a bare `model.fit`: same model, data and epochs, alternated in one run.

The stage side is `pipeline.stages.train.train` itself (callbacks, per-epoch MLflow logging,
checkpoint, curves, model logging) into a throw-away SQLite store; the bare side builds and
compiles the same model and calls `fit` with no callbacks. Early stopping is given a patience
longer than the run so both sides train exactly `--epochs` epochs.

    python -m bench.train_overhead --epochs 60 --rounds 3     (after `dvc repro prepare`)
    python -m bench.train_overhead --rows 50000 --epochs 10   (a synthetic table of that size)

The fixed costs (MLflow run, figure, model file) weigh most on a small table: `--rows` runs the
same comparison in a temporary workspace prepared from bench/synthetic.py's table (text columns
included), as bench/epochs.py does.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.measure import verdict
from pipeline.core.epochs import steps_per_execution
from pipeline.core.stats import feature_contract
from pipeline.io.data import read_schema, read_split
from pipeline.io.params import load_params


def in_workspace(rows: int, epochs: int, rounds: int) -> None:
    """This benchmark run in a temporary workspace holding `rows` prepared synthetic rows."""
    from bench import epochs as epoch_bench
    from bench.measure import project_env

    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        folder = epoch_bench.prepared(Path(tmp), rows, epochs)
        command = [
            sys.executable,
            "-m",
            "bench.train_overhead",
            "--epochs",
            str(epochs),
            "--rounds",
            str(rounds),
        ]
        env = project_env(BENCH_TRAIN_ROWS=str(rows))
        subprocess.run(command, cwd=folder, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=0, help="0: the workspace's prepared data")
    args = parser.parse_args()
    if args.rows:
        in_workspace(args.rows, args.epochs, args.rounds)
        return

    params = load_params()
    train_section = params.train.model_copy(
        update={
            "epochs": args.epochs,
            "early_stopping": params.train.early_stopping.model_copy(update={"patience": args.epochs}),
        }
    )
    params = params.model_copy(update={"train": train_section})

    import keras

    from bench.input_throughput import in_memory
    from pipeline.ml.model import build_model, compile_model
    from pipeline.stages.train import loss_spec, train, training_stats

    schema = read_schema()
    spec = loss_spec(params, schema)
    stats = training_stats(schema, params.base.seed)
    contract = feature_contract(schema, stats, params.model.embed_above)
    x_train, y_train = read_split("train", schema, contract.features)
    x_val, y_val = read_split("val", schema, contract.features)

    # Best-configured: as many batches per call as the stage takes (bench/epochs.py finds no
    # faster value), the arrays in memory.
    per_call = steps_per_execution("auto", math.ceil(len(y_train) / params.train.batch_size))

    def bare() -> None:
        keras.utils.set_random_seed(params.base.seed)
        model = build_model(contract, spec, params.model, stats.target)
        compile_model(model, spec, params.train, per_call)
        batch = params.train.batch_size
        model.fit(
            in_memory(x_train, spec.targets(y_train), batch),
            validation_data=in_memory(x_val, spec.targets(y_val), batch, shuffle=False),
            epochs=args.epochs,
            verbose=0,
        )

    store = tempfile.mkdtemp(prefix="bench-mlflow-")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store}/mlflow.db"

    def stage() -> None:
        train(params)

    stage()  # first use creates the store's schema; not part of the comparison
    times: dict[str, list[float]] = {"bare": [], "stage": []}
    for _ in range(args.rounds):
        for name, body in (("bare", bare), ("stage", stage)):
            # The previous side's garbage (a whole model) collected first, not inside this timing:
            # a full collection here costs 0.3-0.6 s and fell on either side at random.
            gc.collect()
            start = time.perf_counter()
            body()
            times[name].append(time.perf_counter() - start)

    bare_s, stage_s = statistics.median(times["bare"]), statistics.median(times["stage"])
    ratio = stage_s / bare_s

    # Set by in_workspace: the command that made this workspace.
    made = os.environ.get("BENCH_TRAIN_ROWS")
    rows_arg, title = (f" --rows {made}", f", synthetic table of {int(made):,} rows") if made else ("", "")

    def runs(name: str) -> str:
        return ", ".join(f"{t:.2f}" for t in times[name])

    print(
        "\n".join(
            [
                f"## Training stage vs bare `model.fit`{title}",
                "",
                f"Command: `python -m bench.train_overhead{rows_arg} --epochs {args.epochs} "
                f"--rounds {args.rounds}` "
                f"on the prepared data ({schema.split_sizes['train']} training rows, "
                f"batch {params.train.batch_size}, "
                f"{args.epochs} epochs, the default model), the two sides alternated.",
                "",
                "| side | median s | runs s |",
                "|---|---|---|",
                f"| bare `model.fit` on arrays in memory, {per_call} batches per call, no callbacks "
                f"| {bare_s:.2f} | {runs('bare')} |",
                f"| `pipeline.stages.train.train` (its input and steps_per_execution, callbacks, MLflow run, "
                f"checkpoint, curves) | {stage_s:.2f} | {runs('stage')} |",
                f"| **ratio** | **{ratio:.3f}** | |",
                "",
                "Targets:",
                f"- the stage ≤ 1.10 × bare `model.fit`: {ratio:.3f}: {verdict(ratio <= 1.10)}",
            ]
        )
    )


if __name__ == "__main__":
    main()
