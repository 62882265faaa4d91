"""What a candidate would have answered on logged traffic, against what was served: the share
of labels that change, the distribution of the probability (or value) differences, latency."""

from __future__ import annotations

from typing import Any

import numpy as np

QUANTILES = (0.01, 0.05, 0.5, 0.95, 0.99)


def differences(served: list[dict], candidate: list[dict]) -> tuple[np.ndarray, np.ndarray | None]:
    """Per record: (candidate - served) of the probability that moved most (or of the value),
    and whether the label changed (None for regression). Answers as the service gives them."""
    if served and "value" in served[0]:
        diff = np.array([c["value"] - s["value"] for s, c in zip(served, candidate)], dtype="float64")
        return diff, None
    diff = np.array([_moved_most(s["probabilities"], c["probabilities"]) for s, c in zip(served, candidate)])
    changed = np.array([str(s["label"]) != str(c["label"]) for s, c in zip(served, candidate)], dtype=bool)
    return diff, changed


def _moved_most(served: dict[str, float], candidate: dict[str, float]) -> float:
    """The change of the probability that moved most; for two classes, of the second (the
    positive one), whose change mirrors the first's."""
    changes = [candidate[k] - p for k, p in served.items()]
    if len(changes) == 2:
        return float(changes[1])
    return float(max(changes, key=abs, default=0.0))


def distribution(values: np.ndarray) -> dict[str, Any]:
    """Mean, mean absolute and quantiles of the differences (None when there are none)."""
    if not len(values):
        return {"mean": None, "mean_abs": None, "max_abs": None, **{f"q{q:g}": None for q in QUANTILES}}
    return {
        "mean": float(values.mean()),
        "mean_abs": float(np.abs(values).mean()),
        "max_abs": float(np.abs(values).max()),
        **{f"q{q:g}": float(v) for q, v in zip(QUANTILES, np.quantile(values, QUANTILES))},
    }


def summary(diffs: list[np.ndarray], changed: list[np.ndarray], task_has_labels: bool) -> dict[str, Any]:
    values = np.concatenate(diffs) if diffs else np.empty(0)
    out: dict[str, Any] = {"records": int(len(values)), "difference": distribution(values)}
    if task_has_labels:
        flags = np.concatenate(changed) if changed else np.empty(0, dtype=bool)
        out["labels_changed"] = int(flags.sum())
        out["labels_changed_share"] = float(flags.mean()) if len(flags) else None
    return out
