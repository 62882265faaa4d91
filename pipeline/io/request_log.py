"""The request log: what the service answered, one JSON line per logged `/predict`.

    {"time": "2026-11-30T20:41:07.123+00:00", "model": "titanic", "version": "3",
     "threshold": 0.5, "latency_ms": 2.41,
     "records": [{"sex": "female", "age": null, ...}],              # the raw rows as sent
     "predictions": [{"label": "yes", "probabilities": {"no": 0.04, "yes": 0.96}}]}

The service writes it (serving/request_log.py) under REQUEST_LOG_DIR, one file at a time per
worker: `requests-<time>-<pid>.jsonl.part` while open, renamed `.jsonl` when closed. JSON lines
rather than Parquet: a line is complete the moment it is flushed, so a reader (drift, replay)
may read a folder the service is still writing, and a worker killed mid-file loses at most its
last line. Headers and tokens are never in it: only the body's records and the answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.errors import DataError

OPEN_SUFFIX, CLOSED_SUFFIX = ".jsonl.part", ".jsonl"
PREFIX = "requests-"
# The answer's columns in each row read back as a table: `p_<class>`, as scored files name them.
PREDICTION_PREFIX = "p_"


def log_files(folder: str | Path) -> list[Path]:
    """Every log file of the folder, oldest first (their names start with the time they were begun)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(
        (
            p
            for p in folder.iterdir()
            if p.name.startswith(PREFIX) and p.name.endswith((OPEN_SUFFIX, CLOSED_SUFFIX))
        ),
        key=lambda p: p.name,
    )


def entries(folder: str | Path) -> Iterator[dict[str, Any]]:
    """Each logged request, oldest file first. A line cut short (the file is being written, or
    its worker was killed mid-line) is skipped."""
    source = Path(folder)
    files = [source] if source.is_file() else log_files(source)
    if not files:
        raise DataError(
            f"{str(folder)!r} holds no request log ({PREFIX}*.jsonl). Fix: start the service with "
            "REQUEST_LOG_DIR set to that folder and send it requests, or give a table file."
        )
    for path in files:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(entry, dict) and isinstance(entry.get("records"), list):
                    yield entry


def row_batches(
    folder: str | Path, rows: int = 16_384, version_column: str | None = None
) -> Iterator[pd.DataFrame]:
    """The logged records as tables of about `rows` rows: the raw columns as sent, then per row
    what was answered (`p_<class>` for each class, or `value`), `label` when there is one, and
    with `version_column` the model version that answered (whose answers these are)."""
    pending: list[dict[str, Any]] = []
    for entry in entries(folder):
        answers = entry.get("predictions") or []
        for index, record in enumerate(entry["records"]):
            row = dict(record) if isinstance(record, dict) else {}
            if index < len(answers):
                row.update(answer_columns(answers[index]))
            if version_column is not None:
                row[version_column] = str(entry.get("version"))
            pending.append(row)
        if len(pending) >= rows:
            yield pd.DataFrame.from_records(pending)
            pending = []
    if pending:
        yield pd.DataFrame.from_records(pending)


def answer_columns(answer: dict[str, Any]) -> dict[str, Any]:
    """One answer as columns: `p_<class>` per class and `label`, or `value` (regression)."""
    if "value" in answer:
        return {"value": answer["value"]}
    out: dict[str, Any] = {
        f"{PREDICTION_PREFIX}{c}": p for c, p in (answer.get("probabilities") or {}).items()
    }
    if "label" in answer:
        out["label"] = answer["label"]
    return out
