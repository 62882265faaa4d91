"""The train stage's epoch against the best-configured bare `model.fit`, at three sizes.

At each size a workspace is prepared (the bundled breast-cancer data: 370 training rows; the
synthetic table of bench/synthetic.py at 50k and 1M rows, text columns included), all at
batch 32, and bench/input_throughput.py `--epochs` times, in one process, alternated: `bare`
(the fastest of Keras' in-memory inputs and steps_per_execution values, no callbacks),
`stage` (the stage's input, steps_per_execution and callbacks, as params set them) and, at
50k rows, `today` (the stage before this change: streamed, one batch per call).

    python -m bench.epochs --sizes 50000 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import multi_worker, scale
from bench.measure import project_env, verdict

BATCH = 32
EPOCH_RATIO_LIMIT, THROUGHPUT_LIMIT = 1.10, 2.5


def prepared(root: Path, rows: int, epochs: int) -> Path:
    folder = root / str(rows)
    if rows == 0:  # the bundled data
        return multi_worker.workspace(folder, {"train": {"batch_size": BATCH}})
    scale.workspace(folder, rows, epochs, BATCH)
    scale.use_table(folder, ".parquet")
    subprocess.run(
        [sys.executable, "-m", "pipeline.stages.prepare"],
        cwd=folder,
        env=project_env(),
        check=True,
        capture_output=True,
    )
    return folder


def measure(folder: Path, epochs: int, rounds: int, today: bool) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.input_throughput", "--epochs", str(epochs), "--rounds", str(rounds)]
        + (["--today"] if today else []),
        cwd=folder,
        env=project_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[0, 50_000, 1_000_000], help="0: the bundled data"
    )
    parser.add_argument("--epochs", type=int, default=4, help="per fit; the first is left out")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-epochs-") as tmp:
        for rows in args.sizes:
            print(f"[bench.epochs] {rows or 'bundled'} rows", file=sys.stderr, flush=True)
            folder = prepared(Path(tmp), rows, args.epochs)
            many = rows >= 1_000_000
            results.append(
                measure(folder, 3 if many else args.epochs, 1 if many else args.rounds, rows == 50_000)
            )
    lines = [
        "## Epoch speed: the train stage against the best-configured bare `model.fit`",
        "",
        f"Command: `python -m bench.epochs --sizes {' '.join(map(str, args.sizes))} --epochs {args.epochs} "
        f"--rounds {args.rounds}` (bench/epochs.py; at 1M rows 3 epochs, 1 round). Batch {BATCH}; epoch: "
        "training, validation and every callback's epoch-end work, the median over the rounds' epochs "
        "2..n. bare: the fastest of Keras' in-memory inputs and steps_per_execution values, no callbacks; "
        "stage: the stage's input, steps_per_execution and callbacks (`auto`); today: streamed, one batch "
        "per call, as the stage was.",
        "",
        "| training rows | bare config | bare epoch s | stage epoch s | stage / bare | today epoch s | "
        "stage examples/s | today examples/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    targets = []
    for r in results:
        m = r["median"]
        ratio = m["stage"] / m["bare"]
        today = m.get("today")
        lines.append(
            f"| {r['rows']:,} | {r['bare_config']} | {m['bare']:.3f} | {m['stage']:.3f} | {ratio:.2f} | "
            + (f"{today:.3f} | " if today else "– | ")
            + f"{r['rows'] / m['stage']:,.0f} | "
            + (f"{r['rows'] / today:,.0f} |" if today else "– |")
        )
        targets.append(
            f"- stage epoch ≤ {EPOCH_RATIO_LIMIT} × bare at {r['rows']:,} rows: {ratio:.2f}: "
            f"{verdict(ratio <= EPOCH_RATIO_LIMIT)}"
        )
        if today:
            speedup = today / m["stage"]
            targets.append(
                f"- stage throughput ≥ {THROUGHPUT_LIMIT} × today's at {r['rows']:,} rows, batch {BATCH}: "
                f"{speedup:.2f}×: {verdict(speedup >= THROUGHPUT_LIMIT)}"
            )
    print("\n".join([*lines, "", "Targets:", *targets]))


if __name__ == "__main__":
    main()
