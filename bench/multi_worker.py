"""Two training workers on loopback against one process: the same data, both epoch times.

On one machine two workers are not faster (they share its cores); the figure is the price of
the gradients' all-reduce over gRPC each step. Each side is `python -m pipeline.stages.train`
in a workspace prepared from the bundled data: one process (`train.distribute: none`) with
one step per call, as the workers step, and with `auto`; then two worker processes with
`multi_worker` and a TF_CONFIG naming both on 127.0.0.1. Epoch: the median `epoch_seconds`
of epochs 2..n of the chief's history (the first traces).

    python -m bench.multi_worker --epochs 6
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from bench.measure import ROOT, project_env
from tests.helpers import free_port


def tf_config(ports: list[int], index: int) -> str:
    workers = [f"127.0.0.1:{port}" for port in ports]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def start_workers(folder: Path, ports: list[int], env: dict[str, str]) -> list[subprocess.Popen]:
    """One `python -m pipeline.stages.train` per port in `folder`, its output in worker<i>.log."""
    workers = []
    for index in range(len(ports)):
        log = open(folder / f"worker{index}.log", "w")  # noqa: SIM115 (kept open by the child)
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "pipeline.stages.train"],
                cwd=folder,
                env={**env, "TF_CONFIG": tf_config(ports, index)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    return workers


def workspace(folder: Path, changes: dict) -> Path:
    """The bundled data fetched and prepared in `folder`, with params changed by `changes`."""
    folder.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in changes.items():
        params[section].update(values)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in ("fetch", "prepare"):
        subprocess.run(
            [sys.executable, "-m", f"pipeline.stages.{stage}"],
            cwd=folder,
            env=project_env(),
            check=True,
            capture_output=True,
        )
    return folder


def set_train(folder: Path, **values) -> None:
    params = yaml.safe_load((folder / "params.yaml").read_text())
    params["train"].update(values)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))


def epoch_s(folder: Path) -> tuple[float, float]:
    history = pd.read_csv(folder / "reports/train/history.csv")
    return statistics.median(history["epoch_seconds"].iloc[1:]), float(history["val_loss"].iloc[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        folder = workspace(
            Path(tmp), {"train": {"epochs": args.epochs, "early_stopping": {"patience": args.epochs}}}
        )
        env = project_env(MLFLOW_TRACKING_URI=f"sqlite:///{folder / 'mlflow.db'}")
        env.pop("TF_CONFIG", None)
        rows = {}
        for name, spe in (
            ("one process, 1 step per call", 1),
            ("one process, steps_per_execution auto", "auto"),
        ):
            set_train(folder, distribute="none", steps_per_execution=spe)
            subprocess.run(
                [sys.executable, "-m", "pipeline.stages.train"],
                cwd=folder,
                env=env,
                check=True,
                capture_output=True,
            )
            rows[name] = epoch_s(folder)
        set_train(folder, distribute="multi_worker", steps_per_execution="auto")
        workers = start_workers(folder, [free_port(), free_port()], env)
        codes = [w.wait(timeout=900) for w in workers]
        if any(codes):
            sys.exit(f"workers exited {codes}:\n" + (folder / "worker0.log").read_text()[-3000:])
        rows["two workers on 127.0.0.1 (multi_worker, 1 step per call)"] = epoch_s(folder)
    lines = [
        "## Two workers on loopback against one process",
        "",
        f"Command: `python -m bench.multi_worker --epochs {args.epochs}`: the bundled breast-cancer data "
        f"(370 training rows, batch 32), {args.epochs} epochs each; epoch: the median `epoch_seconds` of "
        "epochs 2..n (training and validation) from the chief's history.",
        "",
        "| side | epoch s | final val_loss |",
        "|---|---|---|",
        *(f"| {name} | {s:.3f} | {loss:.4f} |" for name, (s, loss) in rows.items()),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
