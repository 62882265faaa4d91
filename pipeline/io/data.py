"""Writing and reading the prepared splits and their schema, batch by batch."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.core.errors import DataError
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

    def __init__(self) -> None:
        self._tmp = {name: temporary_sibling(paths.split_path(name)) for name in SPLITS}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._pending: dict[str, list[pd.DataFrame]] = {name: [] for name in SPLITS}
        self.dtypes: dict[str, str] = {}  # of the first batch written: the same in every batch

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
        table = pa.Table.from_pandas(pd.concat(self._pending[name]), preserve_index=False)
        self._pending[name] = []
        writer = self._writers.get(name)
        if writer is None:
            writer = self._writers[name] = pq.ParquetWriter(self._tmp[name], table.schema)
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


def read_split(name: str, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
    """A whole split in memory: features as float32 (what the model takes); the target as
    class indices or values."""
    return arrays(pq.read_table(paths.split_path(name)), schema)


def arrays(table: pa.Table, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
    """Features as one float32 matrix, filled column by column straight from arrow (half the
    time of going through pandas, which matters in the training input's thread)."""
    x = np.empty((table.num_rows, len(schema.features)), dtype="float32")
    for j, name in enumerate(schema.features):
        x[:, j] = table.column(name).to_numpy()
    target = table.column(schema.target)
    if schema.task == REGRESSION:
        return x, target.to_numpy().astype("float32")
    return x, encode_labels(target.to_pandas(), schema.class_labels)


def read_head(name: str, rows: int = 100) -> pa.Table:
    """The first rows of a split, read without the rest."""
    return pa.Table.from_batches([next(open_parquet(paths.split_path(name)).iter_batches(batch_size=rows))])


def split_rows(name: str) -> int:
    return open_parquet(paths.split_path(name)).metadata.num_rows


def split_blocks(name: str, schema: Schema, shuffle: Sequence[int] | None = None,
                 rows: int = BLOCK_ROWS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """A split streamed as blocks of (features, targets), never whole in memory.

    In file order, row group by row group; or, with `shuffle` (a seed such as (seed, epoch)),
    the row groups in random order and the rows of each SHUFFLE_ROWS-sized window of them
    permuted: a split up to that size is shuffled whole, a larger one across many row groups
    at a time (so a table sorted by class still mixes within every batch).
    """
    source = open_parquet(paths.split_path(name))
    columns = [*schema.features, schema.target]

    def group(index: int) -> tuple[np.ndarray, np.ndarray]:
        return arrays(source.read_row_group(int(index), columns=columns), schema)

    if shuffle is None:
        for index in range(source.num_row_groups):
            yield from _blocks([group(index)], None, rows)
        return
    rng = np.random.default_rng(list(shuffle))
    window: list[tuple[np.ndarray, np.ndarray]] = []
    for index in rng.permutation(source.num_row_groups):
        window.append(group(index))
        if sum(len(y) for _, y in window) >= SHUFFLE_ROWS:
            yield from _blocks(window, rng, rows)
            window = []
    yield from _blocks(window, rng, rows)


def _blocks(window: list[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator | None,
            rows: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    if not window:
        return
    x, y = (np.concatenate(parts) for parts in zip(*window))
    window.clear()  # the caller's list no longer holds the rows twice
    if rng is not None:
        order = rng.permutation(len(y))
        x, y = x[order], y[order]
    for start in range(0, len(y), rows):
        yield x[start:start + rows], y[start:start + rows]
