"""`make bench`: every benchmark, one after another, written up in one report.

    python -m bench                        # all of them -> bench/RESULTS.md
    python -m bench --only pipeline scale  # some, printed (and written with --output)

The pipeline is brought up to date first (`dvc repro`): the training benchmark reads its
prepared data and the serving one its champion. Each benchmark is a child process whose
standard output is its section of the report (with its command and targets); its progress
goes to the terminal. Nothing else runs meanwhile, so the sides each one alternates share
the machine only with each other.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.measure import ROOT, machine, project_env

BENCHMARKS = {
    "training": ["bench.train_overhead", "--epochs", "60", "--rounds", "3"],
    "training_50k": ["bench.train_overhead", "--rows", "50000", "--epochs", "10", "--rounds", "3"],
    "epochs": ["bench.epochs", "--sizes", "0", "50000", "1000000"],
    "workers": ["bench.multi_worker", "--epochs", "6"],
    "serving": ["bench.serving", "--seconds", "20"],
    "pipeline": ["bench.pipeline", "--rounds", "3"],
    "scale": ["bench.scale", "--sizes", "10000", "100000", "1000000"],
    "request_log": ["bench.request_log", "--seconds", "20"],
    "drift": ["bench.drift", "--seeds", "20", "--cost-rows", "1000000"],
}
RESULTS = ROOT / "bench" / "RESULTS.md"


def section(stdout: str) -> str:
    """A benchmark's report section: from its `## ` title on (what it ran may print before)."""
    start = stdout.find("## ") if stdout.startswith("## ") else stdout.find("\n## ") + 1
    return stdout[start:].strip() if start >= 0 else stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these")
    parser.add_argument("--output", type=Path, help=f"default: {RESULTS.relative_to(ROOT)} for a full run")
    args = parser.parse_args()
    names = args.only or list(BENCHMARKS)
    output = args.output or (None if args.only else RESULTS)
    env = project_env()
    started = time.monotonic()
    subprocess.run([str(Path(sys.executable).parent / "dvc"), "repro"], cwd=ROOT, env=env, check=True)
    sections = []
    for name in names:
        print(f"[bench] {name}: python -m {' '.join(BENCHMARKS[name])}", file=sys.stderr, flush=True)
        done = subprocess.run(
            [sys.executable, "-m", *BENCHMARKS[name]],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        sections.append(section(done.stdout))
    minutes = (time.monotonic() - started) / 60
    command = "make bench" if not args.only else f"python -m bench --only {' '.join(names)}"
    report = (
        "\n\n".join(
            [
                "# Benchmark results",
                f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in {minutes:.0f} min.\n\n"
                f"Machine: {machine()}.\n\nEvery comparison runs its sides alternated within one run and "
                "reports their ratio. What each benchmark measures and what was learnt from it: "
                "bench/README.md.",
                *sections,
            ]
        )
        + "\n"
    )
    if output:
        output.write_text(report)
        print(f"[bench] wrote {output}", file=sys.stderr)
    else:
        print(report)


if __name__ == "__main__":
    main()
