"""Stage `prepare`: check the raw table, decide the task, split it stratified, record its schema."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pandas as pd

from pipeline.core.config import Params
from pipeline.core.schema import Schema
from pipeline.core.splitting import (
    SPLITS,
    Columns,
    SplitIndices,
    check_table,
    class_labels,
    feature_frame,
    strata,
    stratified_split,
)
from pipeline.core.tasks import REGRESSION, TaskChoice, detect_task
from pipeline.io.cli import run_stage
from pipeline.io.data import file_digest, read_table, write_schema, write_split
from pipeline.io.params import load_params


@dataclass(frozen=True)
class Plan:
    """Everything prepare decides about a table, before it writes anything."""

    table: pd.DataFrame
    columns: Columns
    choice: TaskChoice
    labels: list
    split: SplitIndices


def plan(params: Params) -> Plan:
    """Read and check the table, decide the task and the split; raise on any problem."""
    data = params.data
    table = read_table(data.path)
    columns = check_table(table, data.target, data.path, data.non_numeric)
    choice = detect_task(table[data.target], data.task, data.max_classes)
    labels = [] if choice.task == REGRESSION else class_labels(table[data.target])
    split = stratified_split(strata(table[data.target], choice.task, labels), params.prepare.val_size,
                             params.prepare.holdout_size, params.base.seed, labels or None)
    return Plan(table, columns, choice, labels, split)


def check(params: Params) -> None:
    """Preflight: would prepare accept the table? Nothing is written either way."""
    found = plan(params)
    print(f"[prepare] {params.data.path}: ok ({len(found.table)} rows, task {found.choice.task})")


def prepare(params: Params) -> Schema:
    data = params.data
    source, target = data.path, data.target
    found = plan(params)
    table, columns, choice, labels, split = (found.table, found.columns, found.choice, found.labels,
                                             found.split)
    frame = feature_frame(table, columns)
    frame[target] = table[target]
    for name in SPLITS:
        write_split(name, frame.iloc[getattr(split, name)])
    schema = Schema(
        features=columns.features,
        dtypes={c: str(frame[c].dtype) for c in columns.features},
        target=target,
        task=choice.task,
        class_labels=labels,
        split_sizes=split.sizes(),
        data_hash=file_digest(source),
        task_reason=choice.reason,
        one_hot=columns.one_hot,
        dropped=columns.dropped,
    )
    # The schema goes last: its presence says the splits beside it are complete.
    write_schema(schema)
    if columns.dropped:
        print(f"[prepare] dropped column(s) {columns.dropped} (data.non_numeric = {data.non_numeric})")
    classes = f", classes {labels}" if labels else ""
    print(f"[prepare] {source}: {len(table)} rows, {len(columns.features)} features, task "
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
