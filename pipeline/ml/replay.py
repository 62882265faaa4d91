"""Replay logged requests through another model: each request scored as the service would have
scored it (the same checks, the same post-processing, one request per call), compared with the
answer that was served. `python -m pipeline.replay` and the register stage share it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.core import replay
from pipeline.core.batch import check_rows
from pipeline.core.contract import Contract
from pipeline.core.postprocess import answers
from pipeline.core.tasks import REGRESSION
from pipeline.io.request_log import entries
from pipeline.ml.scoring import Logits

SLOWEST = 5


def replay_log(log: str | Path, call: Logits, contract: Contract, threshold: float | None) -> dict[str, Any]:
    """The summary of replaying every logged request of `log` with `call`."""
    diffs, changed, served_ms, candidate_ms, slow = [], [], [], [], []
    requests = unscorable = 0
    reasons: list[str] = []
    served_versions: set[str] = set()
    for index, entry in enumerate(entries(log)):
        requests += 1
        served_versions.add(str(entry.get("version")))
        frame = pd.DataFrame.from_records(entry["records"])
        missing = [name for name in contract.names if name not in frame.columns]
        if missing:
            unscorable += len(frame)
            reasons.append(f"request {index}: column(s) {missing} the candidate takes were not sent")
            continue
        started = time.perf_counter()
        checked = check_rows(frame[contract.names], contract.features)
        if not checked.valid.all():
            unscorable += len(frame)
            reasons.append(f"request {index}: {checked.reasons[0]}")
            continue
        mine = answers(call(checked.inputs), contract.task, contract.class_labels, threshold)
        took = (time.perf_counter() - started) * 1000
        diff, flags = replay.differences(entry["predictions"], mine)
        diffs.append(diff)
        if flags is not None:
            changed.append(flags)
        served_ms.append(float(entry.get("latency_ms") or 0.0))
        candidate_ms.append(took)
        slow.append((took, index, entry.get("time"), served_ms[-1], len(frame)))
    out = replay.summary(diffs, changed, contract.task != REGRESSION)
    slow.sort(reverse=True)
    out.update(
        requests=requests,
        unscorable_records=unscorable,
        unscorable_reasons=reasons[:5],
        served_versions=sorted(served_versions),
        latency_ms={
            "served_p50": _quantile(served_ms, 0.5),
            "served_p99": _quantile(served_ms, 0.99),
            "candidate_p50": _quantile(candidate_ms, 0.5),
            "candidate_p99": _quantile(candidate_ms, 0.99),
        },
        slowest=[
            {"request": i, "time": t, "records": n, "candidate_ms": round(c, 3), "served_ms": s}
            for c, i, t, s, n in slow[:SLOWEST]
        ],
    )
    return out


def _quantile(values: list[float], q: float) -> float | None:
    return float(np.quantile(values, q)) if values else None


def tags(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary as model-version tags (`replay.*`)."""
    difference = summary["difference"]
    out = {
        "replay.requests": summary["requests"],
        "replay.records": summary["records"],
        "replay.unscorable_records": summary["unscorable_records"],
        "replay.served_versions": ",".join(summary["served_versions"]),
        "replay.mean_abs_difference": difference["mean_abs"],
        "replay.max_abs_difference": difference["max_abs"],
        "replay.candidate_p99_ms": summary["latency_ms"]["candidate_p99"],
    }
    if "labels_changed_share" in summary:
        out["replay.labels_changed_share"] = summary["labels_changed_share"]
    return out
