"""Stage `prepare`: check the raw table, decide the task, split it stratified, record its schema.

The table is streamed twice, a batch at a time (pyarrow): the first pass checks it and keeps
only the target column, the second writes each batch's rows to their split. Memory stays
flat whatever the table's size.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from pipeline.core.config import Params
from pipeline.core.schema import Schema
from pipeline.core.splitting import (
    SPLITS,
    SplitIndices,
    class_labels,
    feature_frame,
    strata,
    stratified_split,
)
from pipeline.core.table import Columns, TableScan
from pipeline.core.tasks import REGRESSION, TaskChoice, detect_task
from pipeline.io.cli import run_stage
from pipeline.io.data import SplitWriter, write_schema
from pipeline.io.params import load_params
from pipeline.io.table import TableReader, file_digest


@dataclass(frozen=True)
class Plan:
    """Everything prepare decides about a table, before it writes anything."""

    reader: TableReader  # the table, its column types settled by the first pass
    rows: int
    columns: Columns
    choice: TaskChoice
    labels: list
    split: SplitIndices


def plan(params: Params) -> Plan:
    """First pass: check the table batch by batch, decide the task and the split; raise on any
    problem. Only the target column is held whole (the split needs it)."""
    data = params.data
    reader = TableReader(data.path)
    scan = reader.scan(lambda header: TableScan(header, data.target, data.path))
    columns = scan.settle(data.non_numeric)
    target = scan.target_column()
    choice = detect_task(target, data.task, data.max_classes)
    labels = [] if choice.task == REGRESSION else class_labels(target)
    split = stratified_split(strata(target, choice.task, labels), params.prepare.val_size,
                             params.prepare.holdout_size, params.base.seed, labels or None)
    return Plan(reader, scan.rows, columns, choice, labels, split)


def check(params: Params) -> None:
    """Preflight: would prepare accept the table? Nothing is written either way."""
    found = plan(params)
    print(f"[prepare] {params.data.path}: ok ({found.rows} rows, task {found.choice.task})")


def write_splits(found: Plan, target: str) -> dict[str, str]:
    """Second pass: each batch's rows go to their split's file; returns the columns' dtypes."""
    which = found.split.assignment(found.rows)
    start = 0
    with SplitWriter() as writer:
        for batch in found.reader.batches():
            frame = feature_frame(batch, found.columns)
            frame[target] = batch[target]
            rows = which[start:start + len(batch)]
            for code, name in enumerate(SPLITS):
                part = np.flatnonzero(rows == code)
                if len(part):
                    writer.write(name, frame.iloc[part])
            start += len(batch)
    return writer.dtypes


def prepare(params: Params) -> Schema:
    data = params.data
    found = plan(params)
    dtypes = write_splits(found, data.target)
    columns, choice, labels, split = found.columns, found.choice, found.labels, found.split
    schema = Schema(
        features=columns.features,
        dtypes={c: dtypes[c] for c in columns.features},
        target=data.target,
        task=choice.task,
        class_labels=labels,
        split_sizes=split.sizes(),
        data_hash=file_digest(data.path),
        task_reason=choice.reason,
        one_hot=columns.one_hot,
        dropped=columns.dropped,
    )
    # The schema goes last: its presence says the splits beside it are complete.
    write_schema(schema)
    if columns.dropped:
        print(f"[prepare] dropped column(s) {columns.dropped} (data.non_numeric = {data.non_numeric})")
    classes = f", classes {labels}" if labels else ""
    print(f"[prepare] {data.path}: {found.rows} rows, {len(columns.features)} features, task "
          f"{choice.task} ({choice.reason}){classes}, splits {split.sizes()}")
    return schema


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.stages.prepare")
    parser.add_argument("--check", action="store_true",
                        help="only check the table (the retrain job's preflight); write nothing")
    body = check if parser.parse_args(argv).check else prepare
    run_stage("prepare", lambda: body(load_params()))


if __name__ == "__main__":
    main()
