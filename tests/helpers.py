"""Small helpers with no pytest in them, shared by the tests and the benchmarks."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def set_dotted(params: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Apply `section.key=value` changes (as `dvc exp run -S` takes them) to a params dict, in
    place; returns it. Every section on the way must exist: a typo fails with its KeyError."""
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        section = params
        for key in parents:
            section = section[key]
        section[leaf] = value
    return params


def baseline_expected(metrics: Mapping[str, float], task: str, holdout_rows: int) -> tuple[str, str]:
    """What evaluate's baseline line must say for its metrics.json, worked out here by hand: the
    outcome (a tie within one holdout error, or 0.01 of R²) and the figures it quotes."""
    metric = "r2" if task == "regression" else "accuracy"
    ours, theirs = metrics[metric], metrics[f"baseline_{metric}"]
    lead = ours - theirs if task == "regression" else round((ours - theirs) * holdout_rows)
    tie = 0.01 if task == "regression" else 1
    outcome = "matches" if abs(lead) <= tie else ("beats" if lead > 0 else "trails")
    return (
        outcome,
        f"{metric} {ours:.4f} against HistGradientBoosting's {theirs:.4f} on the same holdout split",
    )
