"""`dvc repro` on the bundled data: a no-op run, and a full run against one process doing
the same work (bench/bare_pipeline.py), alternated.

Works in a fresh git repository made from this one's tracked files (so the user's store
and outputs stay untouched), with the embedded SQLite store inside it. After one full run
to warm up, `--noop` runs of `dvc repro` with everything up to date are timed; then
`--rounds` pairs of `dvc repro --force` and the bare script, taken in turn.

    python -m bench.pipeline --rounds 3
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.measure import ROOT, median, project_env, run, verdict

NOOP_LIMIT_S, FULL_RATIO_LIMIT = 3.0, 1.5


def repository(folder: Path) -> Path:
    """A git repository holding the project's tracked files, committed."""
    tracked = subprocess.run(
        ["git", "ls-files", "--cached"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for name in tracked:
        if (ROOT / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    who = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", *who, "commit", "-qm", "bench"]):
        subprocess.run(cmd, cwd=folder, check=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--noop", type=int, default=5)
    args = parser.parse_args()
    env = project_env()
    env.pop("MLFLOW_TRACKING_URI", None)  # the repository's own SQLite store
    dvc = str(Path(sys.executable).parent / "dvc")
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        repo = repository(Path(tmp))
        log = Path(tmp) / "bench.log"
        first = run([dvc, "repro"], repo, log, env)
        noop = [run([dvc, "repro"], repo, log, env) for _ in range(args.noop)]
        full, bare = [], []
        for _ in range(args.rounds):
            full.append(run([dvc, "repro", "--force"], repo, log, env))
            bare.append(run([sys.executable, "-m", "bench.bare_pipeline"], repo, log, env))
    noop_s, full_s, bare_s = median(noop), median(full), median(bare)
    # Each round's full run over the bare run beside it: a machine whose speed drifts between
    # rounds (a shared host) moves both alike, where a ratio of the two medians mixes rounds.
    pairs = [f / b for f, b in zip(full, bare, strict=True)]
    ratio = median(pairs)
    shown = ", ".join
    print(
        "\n".join(
            [
                "## `dvc repro`: no-op, and full against one bare process",
                "",
                f"Command: `python -m bench.pipeline --rounds {args.rounds} --noop {args.noop}`, "
                "on the bundled "
                "breast-cancer data in a fresh git repository made from the tracked files (SQLite store). "
                "Full: `dvc repro --force` (fetch, prepare, train, evaluate, register: five processes) and "
                "`python -m bench.bare_pipeline` (the same stage functions in one process), alternated; "
                "the ratio is the median of each round's pair. "
                f"The first full run ({first:.1f} s) warmed up and is not counted.",
                "",
                "| run | median s | runs s |",
                "|---|---|---|",
                f"| no-op `dvc repro` (all stages up to date) | {noop_s:.2f} | "
                f"{shown(f'{t:.2f}' for t in noop)} |",
                f"| full `dvc repro --force` | {full_s:.1f} | {shown(f'{t:.1f}' for t in full)} |",
                f"| bare single process | {bare_s:.1f} | {shown(f'{t:.1f}' for t in bare)} |",
                f"| **ratio full / bare, round by round** | **{ratio:.2f}** | "
                f"{shown(f'{r:.2f}' for r in pairs)} |",
                "",
                "Targets:",
                f"- no-op `dvc repro` ≤ {NOOP_LIMIT_S:g} s: {noop_s:.2f} s: "
                f"{verdict(noop_s <= NOOP_LIMIT_S)}",
                f"- full `dvc repro` ≤ {FULL_RATIO_LIMIT}× the bare script: {ratio:.2f}×: "
                f"{verdict(ratio <= FULL_RATIO_LIMIT)}",
            ]
        )
    )


if __name__ == "__main__":
    main()
