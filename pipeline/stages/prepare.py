"""Stage `prepare`: read the raw table, decide each column's kind and the task, split the rows
stratified, record the schema.

The table is streamed twice, a batch at a time (pyarrow). The first pass gathers what the
decisions need (core/table.py `TableScan`: per column its type, missing cells, a bounded count
of distinct values; the target column whole); then each column is decided numeric, boolean,
categorical or dropped, with the reason printed and kept in `schema.json`, and `data.missing`
settles which rows stay. The second pass writes the kept rows to their split: the kept
features in table order, then the target; numbers as float64 and categories as text in
`core.rows.category_text`'s spelling, both null where missing (the model imputes them).
Memory stays flat whatever the table's size.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.core.config import Params
from pipeline.core.contract import DROPPED, FEATURE_KINDS, MISSING, NUMERIC
from pipeline.core.rows import category_column
from pipeline.core.schema import Column, Schema
from pipeline.core.splitting import SPLITS, SplitIndices, class_labels, strata, stratified_split
from pipeline.core.table import KeptRows, TableScan, missing_mask, settle
from pipeline.core.tasks import REGRESSION, TaskChoice, detect_task
from pipeline.io.cli import run_and_exit, run_stage
from pipeline.io.data import SplitWriter, write_schema
from pipeline.io.params import load_params
from pipeline.io.table import TableReader, file_digest


@dataclass(frozen=True)
class Plan:
    """Everything prepare decides about a table, before it writes anything."""

    reader: TableReader  # the table, its column types settled by the first pass
    rows: int  # in the whole table
    columns: list[Column]  # every column but the target, with its kind and why
    kept: KeptRows  # the rows that go to the splits, and those left out
    choice: TaskChoice
    labels: list
    split: SplitIndices  # row indices of the whole table
    target_as_int: bool  # integer labels read as floats because some were missing
    target_type: pa.DataType  # the target's type in the splits

    @property
    def features(self) -> list[Column]:
        return [c for c in self.columns if c.kind != DROPPED]


def plan(params: Params) -> Plan:
    """First pass: scan the table batch by batch, decide the columns, the rows, the task and
    the split; raise on any problem. Only the target column is held whole (the split needs it)."""
    data = params.data
    reader = TableReader(data.path)
    scan = reader.scan(
        lambda header: TableScan(
            header,
            data.target,
            data.path,
            max_categories=data.max_categories,
            missing_rows=data.missing == "drop",
        )
    )
    settled = settle(
        scan,
        missing=data.missing,
        categorical=data.categorical,
        numeric=data.numeric,
        drop=data.drop,
        max_categories=data.max_categories,
    )
    kept = settled.kept
    target = scan.target_column().iloc[kept.rows].reset_index(drop=True)
    target_as_int = whole_floats(target) and kept.dropped["missing_target"] > 0
    if target_as_int:
        target = target.astype("int64")
    choice = detect_task(target, data.task, data.max_classes)
    labels = [] if choice.task == REGRESSION else class_labels(target)
    within = stratified_split(
        strata(target, choice.task, labels),
        params.prepare.val_size,
        params.prepare.holdout_size,
        params.base.seed,
        labels or None,
    )
    split = SplitIndices(**{name: kept.rows[getattr(within, name)] for name in SPLITS})
    # The target's type from its kept values (a sample: one column has one type).
    target_type = pa.Array.from_pandas(target.iloc[:1000]).type
    return Plan(reader, scan.rows, settled.columns, kept, choice, labels, split, target_as_int, target_type)


def whole_floats(values: pd.Series) -> bool:
    """Float values that are all whole numbers: integers a missing value turned into floats."""
    if not pd.api.types.is_float_dtype(values) or values.empty:
        return False
    floats = values.to_numpy(dtype="float64")
    return bool(np.all(np.isfinite(floats)) and np.all(np.mod(floats, 1) == 0))


def check(params: Params) -> None:
    """Preflight: would prepare accept the table? Nothing is written either way."""
    found = plan(params)
    print(f"[prepare] {params.data.path}: ok ({found.rows} rows, task {found.choice.task})")


def category_values(column: pd.Series) -> np.ndarray:
    """A column as categories in `category_text`'s spelling, None (null) where missing."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # a dictionary-encoded parquet column
        column = column.astype(object)
    if pd.api.types.infer_dtype(column, skipna=True) == "string":  # the common case, fast
        values = column.to_numpy(dtype=object, copy=True)
        values[missing_mask(column).to_numpy()] = None
        return values
    values = category_column(column)
    values[values == MISSING] = None
    return values


def number_values(column: pd.Series) -> np.ndarray:
    """A column as float64, NaN (null in parquet) where missing or infinite."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan, copy=True)
    values[~np.isfinite(values)] = np.nan
    return values


def split_frame(
    batch: pd.DataFrame, features: list[Column], target: str, target_as_int: bool
) -> pd.DataFrame:
    """One batch as the splits hold it: kept features in table order, then the target."""
    parts = {
        c.name: number_values(batch[c.name]) if c.kind == NUMERIC else category_values(batch[c.name])
        for c in features
    }
    frame = pd.DataFrame(parts, index=batch.index)
    frame[target] = batch[target].astype("int64") if target_as_int else batch[target]
    return frame


def arrow_schema(features: list[Column], target: str, target_type: pa.DataType) -> pa.Schema:
    """The splits' column types, fixed before any row is written (a batch whose values are all
    missing would otherwise be typed `null`)."""
    fields = [pa.field(c.name, pa.float64() if c.kind == NUMERIC else pa.string()) for c in features]
    return pa.schema([*fields, pa.field(target, target_type)])


def write_splits(found: Plan, target: str) -> None:
    """Second pass: each batch's kept rows go to their split's file."""
    which = found.split.assignment(found.rows)  # -1: a row left out
    start = 0
    with SplitWriter(arrow_schema(found.features, target, found.target_type)) as writer:
        for batch in found.reader.batches():
            rows = which[start : start + len(batch)]
            start += len(batch)
            kept = np.flatnonzero(rows >= 0)
            if not len(kept):
                continue
            frame = split_frame(batch.iloc[kept], found.features, target, found.target_as_int)
            rows = rows[kept]
            for code, name in enumerate(SPLITS):
                part = np.flatnonzero(rows == code)
                if len(part):
                    writer.write(name, frame.iloc[part])


def describe(found: Plan, policy: str) -> list[str]:
    """What prepare decided, a line each: dropped columns with their reason, the kinds, the
    missing values and the rows left out."""
    lines = [f"dropped {c.name!r}: {c.reason}" for c in found.columns if c.kind == DROPPED]
    kinds = {kind: [c.name for c in found.features if c.kind == kind] for kind in FEATURE_KINDS}
    lines.append("kinds: " + "; ".join(f"{kind} {names}" for kind, names in kinds.items() if names))
    missing = [c for c in found.features if c.missing]
    if missing:
        what = {"impute": "imputed inside the model", "drop": "their rows left out", "refuse": "refused"}[
            policy
        ]
        counts = ", ".join(f"{c.name!r} {c.missing:,}" for c in missing)
        lines.append(f"missing values (data.missing = {policy}: {what}): {counts}")
    dropped = found.kept.dropped
    lines.append(
        f"rows left out: {dropped['missing_target']:,} with no target, "
        f"{dropped['missing_values']:,} with a missing feature value (data.missing = {policy}); "
        f"{len(found.kept.rows):,} of {found.rows:,} kept"
    )
    return lines


def prepare(params: Params) -> Schema:
    data = params.data
    found = plan(params)
    write_splits(found, data.target)
    schema = Schema(
        columns=found.columns,
        target=data.target,
        task=found.choice.task,
        class_labels=found.labels,
        split_sizes=found.split.sizes(),
        data_hash=file_digest(data.path),
        task_reason=found.choice.reason,
        missing_policy=data.missing,
        dropped_rows=found.kept.dropped,
    )
    # The schema goes last: its presence says the splits beside it are complete.
    write_schema(schema)
    for line in describe(found, data.missing):
        print(f"[prepare] {line}")
    classes = f", classes {found.labels}" if found.labels else ""
    print(
        f"[prepare] {data.path}: {found.rows} rows, {len(found.features)} features, task "
        f"{found.choice.task} ({found.choice.reason}){classes}, splits {found.split.sizes()}"
    )
    return schema


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipeline.stages.prepare")
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check the table (the retrain job's preflight); write nothing",
    )
    body = check if parser.parse_args(argv).check else prepare
    run_stage("prepare", lambda: body(load_params()))


if __name__ == "__main__":
    run_and_exit(main)
