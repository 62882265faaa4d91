"""Cost against data size: prepare, training and batch scoring at 10k, 100k and 1M rows.

At each size, a synthetic table (bench/synthetic.py: N rows x 30 features, binary target)
goes through the real stages, each a child process timed with its own peak memory:
prepare (from CSV and from parquet), train (`--epochs` epochs; the time of an epoch is the
fastest `epoch_seconds` the stage logs, the first epoch excluded as it traces), evaluate and
register (to have a champion), and `pipeline.predict` over the whole table. Then
bench/input_throughput.py compares the streamed tf.data input with in-memory arrays.

    python -m bench.scale --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from bench.measure import ROOT, Measured, memory_growth, per_row_ratio, project_env, run_module, verdict

FEATURES = 30


def workspace(folder: Path, rows: int, epochs: int, batch_size: int) -> Path:
    """A folder with the table (parquet and CSV) and params for it; the stages run inside."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".parquet", ".csv"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.synthetic",
                "--rows",
                str(rows),
                "--features",
                str(FEATURES),
                "-o",
                str(folder / f"data/raw/synthetic{suffix}"),
            ],
            env=project_env(),
            check=True,
            capture_output=True,
        )
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["train"].update(epochs=epochs, batch_size=batch_size)
    params["train"]["early_stopping"]["patience"] = epochs  # every size trains every epoch
    params["register"]["model_name"] = f"synthetic-{rows}"
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    return folder


def use_table(folder: Path, suffix: str) -> None:
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["data"]["path"] = f"data/raw/synthetic{suffix}"
    (folder / "params.yaml").write_text(yaml.safe_dump(params))


def measure_size(folder: Path, rows: int, rounds: int) -> dict:
    env = project_env(MLFLOW_TRACKING_URI=f"sqlite:///{folder / 'mlflow.db'}")
    log = folder / "bench.log"

    def stage(*module: str) -> Measured:
        return run_module(list(module), folder, log, env)

    result: dict = {"rows": rows}
    use_table(folder, ".csv")
    result["prepare_csv"] = stage("pipeline.stages.prepare")
    use_table(folder, ".parquet")
    result["prepare_parquet"] = stage("pipeline.stages.prepare")
    result["train"] = stage("pipeline.stages.train")
    result["evaluate"] = stage("pipeline.stages.evaluate")
    result["register"] = stage("pipeline.stages.register")
    result["predict"] = stage("pipeline.predict", "data/raw/synthetic.parquet", "-o", "scored.parquet")
    history = pd.read_csv(folder / "reports/train/history.csv")
    result["epoch_s"] = float(history["epoch_seconds"].iloc[1:].min())
    train_file = pq.ParquetFile(folder / "data/prepared/train.parquet")
    result["train_rows"] = train_file.metadata.num_rows
    # The training split in memory (arrow's own size, text included): what a non-streaming
    # trainer would hold.
    result["train_mb"] = pq.read_table(folder / "data/prepared/train.parquet").nbytes / 2**20
    done = subprocess.run(
        [sys.executable, "-m", "bench.input_throughput", "--rounds", str(rounds)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result["throughput"] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def report(results: list[dict], command: str) -> str:
    lines = [
        "## Cost against data size",
        "",
        f"Command: `{command}`. Synthetic tables of {FEATURES} float features (5 % of one "
        "missing), text columns of 10 and 1,000 categories and a binary target "
        "(bench/synthetic.py), through the real stages, each a child process; peak RSS "
        "is that process's own high-water mark (VmHWM, bench/peak.py). Epoch: training plus "
        "validation, the fastest of epochs 2..n (the first traces; on a shared machine noise "
        "only adds time); examples/s: training rows per epoch second. tf.data vs in-memory: "
        "the fastest of alternated training epochs of the same model in one process "
        "(bench/input_throughput.py).",
        "",
        "| rows | prepare CSV s | prepare parquet s | epoch s | examples/s | tf.data / in-memory "
        "| predict s | peak RSS MB: prepare CSV / parquet / train / evaluate / predict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        speed = r["throughput"]
        rss = " / ".join(
            f"{r[k].peak_rss_mb:.0f}"
            for k in ("prepare_csv", "prepare_parquet", "train", "evaluate", "predict")
        )
        lines.append(
            f"| {r['rows']:,} | {r['prepare_csv'].seconds:.1f} | {r['prepare_parquet'].seconds:.1f} "
            f"| {r['epoch_s']:.2f} | {r['train_rows'] / r['epoch_s']:,.0f} "
            f"| {speed['tf_data'] / speed['in_memory']:.2f} ({speed['tf_data']:,.0f} vs "
            f"{speed['in_memory']:,.0f}) | {r['predict'].seconds:.1f} | {rss} |"
        )
    lines += ["", "Targets:"]
    by_rows = {r["rows"]: r for r in results}
    if 100_000 in by_rows and 1_000_000 in by_rows:
        small, large = by_rows[100_000], by_rows[1_000_000]
        ratio = per_row_ratio(
            (small["train_rows"], small["epoch_s"]), (large["train_rows"], large["epoch_s"])
        )
        lines.append(
            f"- time per epoch linear in rows, 100k → 1M within ±20 % per row: per-row ratio "
            f"{ratio:.2f}: {verdict(abs(ratio - 1) <= 0.2)}"
        )
    if len(results) > 1:
        smallest, largest = results[0], results[-1]
        budget = 2 * largest["train_mb"]
        for key in ("prepare_csv", "prepare_parquet", "train", "evaluate", "predict"):
            grown, met = memory_growth(smallest[key].peak_rss_mb, largest[key].peak_rss_mb, budget)
            lines.append(
                f"- peak RSS of {key.replace('_', ' ')} at {largest['rows']:,} rows over "
                f"{smallest['rows']:,}: +{grown:.0f} MB, budget 2 × the "
                f"{largest['train_mb']:.0f} MB training split = {budget:.0f} MB: {verdict(met)}"
            )
    worst = min(r["throughput"]["tf_data"] / r["throughput"]["in_memory"] for r in results)
    lines.append(
        f"- tf.data ≥ 0.9 × the in-memory throughput at every size: lowest {worst:.2f}: "
        f"{verdict(worst >= 0.9)}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=4, help="alternations of tf.data vs in-memory")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as root:
        for rows in sorted(args.sizes):
            print(f"[bench.scale] {rows} rows", file=sys.stderr, flush=True)
            folder = workspace(Path(root) / str(rows), rows, args.epochs, args.batch_size)
            results.append(measure_size(folder, rows, args.rounds))
    sizes = " ".join(map(str, sorted(args.sizes)))
    command = (
        f"python -m bench.scale --sizes {sizes} --epochs {args.epochs} "
        f"--batch-size {args.batch_size} --rounds {args.rounds}"
    )
    print(report(results, command))


if __name__ == "__main__":
    main()
