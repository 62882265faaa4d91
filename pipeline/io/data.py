"""Writing and reading the prepared splits and their schema, batch by batch."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.core.contract import MISSING, NUMERIC, Contract, FeatureSpec
from pipeline.core.errors import DataError
from pipeline.core.rows import concat, take
from pipeline.core.schema import Schema
from pipeline.core.splitting import SPLITS, encode_labels
from pipeline.core.tasks import REGRESSION
from pipeline.io import paths
from pipeline.io.files import read_json, temporary_sibling, write_json
from pipeline.io.table import open_parquet

# Rows per row group of a split's file: the unit training reads and shuffles. Small enough
# that a shuffle window holds rows from many places in the file.
ROW_GROUP_ROWS = 8192
BLOCK_ROWS = 8192  # rows per block handed to training (many batches each)
SHUFFLE_ROWS = 131_072  # rows shuffled together; a split this small is shuffled whole


class SplitWriter:
    """The three prepared splits, appended batch by batch under temporary names.

    Rows are gathered into row groups of ROW_GROUP_ROWS, whatever the size of the batches
    read. All three files are renamed into place together when the `with` block succeeds;
    after a failure the temporary files go and the splits of an earlier run stay as they were.
    """

    def __init__(self, schema: pa.Schema | None = None) -> None:
        """`schema`: the columns' arrow types, the same in every file whatever the rows (a batch
        whose column is all null would otherwise be typed `null`); without it, the first
        row group written to a file types it."""
        self._tmp = {name: temporary_sibling(paths.split_path(name)) for name in SPLITS}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._pending: dict[str, list[pd.DataFrame]] = {name: [] for name in SPLITS}
        self.schema = schema
        # of the schema, or of the first batch written: the same in every batch
        self.dtypes: dict[str, str] = {f.name: str(f.type) for f in schema} if schema is not None else {}

    def __enter__(self) -> SplitWriter:
        return self

    def write(self, name: str, frame: pd.DataFrame) -> None:
        if not self.dtypes:
            self.dtypes = {str(c): str(t) for c, t in frame.dtypes.items()}
        self._pending[name].append(frame)
        if sum(len(f) for f in self._pending[name]) >= ROW_GROUP_ROWS:
            self._flush(name)

    def _flush(self, name: str) -> None:
        if not self._pending[name]:
            return
        table = pa.Table.from_pandas(pd.concat(self._pending[name]), schema=self.schema, preserve_index=False)
        self._pending[name] = []
        writer = self._writers.get(name)
        if writer is None:
            writer = self._writers[name] = pq.ParquetWriter(self._tmp[name], self.schema or table.schema)
        writer.write_table(table.cast(writer.schema))

    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is None:
                for name in SPLITS:
                    self._flush(name)
            for writer in self._writers.values():
                writer.close()
            if kind is None:
                empty = [name for name in SPLITS if name not in self._writers]
                if empty:
                    raise DataError(f"prepare wrote no rows to the {empty} split(s).")
                for name, tmp in self._tmp.items():
                    os.replace(tmp, paths.split_path(name))
        finally:
            for tmp in self._tmp.values():
                tmp.unlink(missing_ok=True)


def write_schema(schema: Schema) -> None:
    write_json(paths.SCHEMA, schema.to_dict())


def read_schema() -> Schema:
    return Schema.from_dict(read_json(paths.SCHEMA))


def write_contract(contract: Contract, path: str | Path = paths.CONTRACT) -> None:
    write_json(path, contract.to_dict())


def read_contract(path: str | Path = paths.CONTRACT) -> Contract:
    return Contract.from_dict(read_json(path))


Block = tuple[dict[str, np.ndarray], np.ndarray]


def columns_of(table: pa.Table, kinds: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Each feature's values straight from arrow: numbers as float64 with NaN for missing,
    categories as text with "" for missing (prepare wrote them in their canonical spelling)."""
    out = {}
    for name, kind in kinds.items():
        column = table.column(name)
        if kind == NUMERIC:
            out[name] = column.to_numpy().astype("float64", copy=False)
        else:
            out[name] = column.fill_null(MISSING).to_numpy(zero_copy_only=False).astype(object)
    return out


def inputs_of(table: pa.Table, features: Sequence[FeatureSpec]) -> dict[str, np.ndarray]:
    """The model's inputs for the rows of a split (what `core.rows.model_inputs` makes of a
    raw frame, read without going through pandas: this runs in the training input's thread)."""
    columns = columns_of(table, {f.name: f.kind for f in features})
    return {
        f.input: (columns[f.name].astype("float32") if f.is_numeric else columns[f.name]).reshape(-1, 1)
        for f in features
    }


def targets_of(table: pa.Table, schema: Schema) -> np.ndarray:
    """The target as class indices (classification) or float32 values (regression)."""
    target = table.column(schema.target)
    if schema.task == REGRESSION:
        return target.to_numpy().astype("float32")
    return encode_labels(target.to_pandas(), schema.class_labels)


def read_head(name: str, rows: int = 100) -> pa.Table:
    """The first rows of a split, read without the rest."""
    return pa.Table.from_batches([next(open_parquet(paths.split_path(name)).iter_batches(batch_size=rows))])


def split_rows(name: str) -> int:
    return open_parquet(paths.split_path(name)).metadata.num_rows


def split_group_rows(name: str) -> list[int]:
    """The rows of each row group of a split, in file order (what an epoch's order is made of)."""
    metadata = open_parquet(paths.split_path(name)).metadata
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def split_tables(name: str, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
    """A split row group by row group, in file order: never whole in memory."""
    source = open_parquet(paths.split_path(name))
    for index in range(source.num_row_groups):
        yield source.read_row_group(index, columns=list(columns) if columns is not None else None)


def split_blocks(
    name: str,
    schema: Schema,
    features: Sequence[FeatureSpec],
    shuffle: Sequence[int] | None = None,
    rows: int = BLOCK_ROWS,
) -> Iterator[Block]:
    """A split streamed as blocks of (model inputs, targets), never whole in memory.

    In file order, row group by row group; or, with `shuffle` (a seed such as (seed, epoch)),
    the row groups in random order and the rows of each SHUFFLE_ROWS-sized window of them
    permuted: a split up to that size is shuffled whole, a larger one across many row groups
    at a time (so a table sorted by class still mixes within every batch).
    """
    source = open_parquet(paths.split_path(name))
    columns = [*(f.name for f in features), schema.target]

    def group(index: int) -> Block:
        table = source.read_row_group(int(index), columns=columns)
        return inputs_of(table, features), targets_of(table, schema)

    if shuffle is None:
        for index in range(source.num_row_groups):
            yield from _blocks([group(index)], None, rows)
        return
    rng = np.random.default_rng(list(shuffle))
    window: list[Block] = []
    for index in rng.permutation(source.num_row_groups):
        window.append(group(index))
        if sum(len(y) for _, y in window) >= SHUFFLE_ROWS:
            yield from _blocks(window, rng, rows)
            window = []
    yield from _blocks(window, rng, rows)


def _blocks(window: list[Block], rng: np.random.Generator | None, rows: int) -> Iterator[Block]:
    if not window:
        return
    x = concat([inputs for inputs, _ in window])
    y = np.concatenate([targets for _, targets in window])
    window.clear()  # the caller's list no longer holds the rows twice
    if rng is not None:
        order = rng.permutation(len(y))
        x, y = take(x, order), y[order]
    for start in range(0, len(y), rows):
        yield take(x, slice(start, start + rows)), y[start : start + rows]


def read_split(name: str, schema: Schema, features: Sequence[FeatureSpec]) -> Block:
    """A whole split in memory (benchmarks and small tables only)."""
    blocks = list(split_blocks(name, schema, features, rows=1 << 62))
    return concat([x for x, _ in blocks]), np.concatenate([y for _, y in blocks])
