"""The prepared splits written and read in blocks, small enough that every file spans many."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core.contract import CATEGORICAL, NUMERIC, FeatureSpec
from pipeline.core.epoch_order import epoch_order
from pipeline.core.errors import DataError
from pipeline.core.schema import Column, Schema
from pipeline.io import data, paths
from pipeline.io.data import SplitWriter, split_blocks

SCHEMA = Schema(
    columns=[Column("a", NUMERIC, ""), Column("b", NUMERIC, ""), Column("c", CATEGORICAL, "")],
    target="y",
    task="binary",
    class_labels=[0, 1],
)
FEATURES = [
    FeatureSpec("a", NUMERIC, "a"),
    FeatureSpec("b", NUMERIC, "b_in"),
    FeatureSpec("c", CATEGORICAL, "c"),
]


def write_split(rows: int, groups: int) -> pd.DataFrame:
    b = -np.arange(rows, dtype="float64")
    b[1] = np.nan
    c = np.where(np.arange(rows) % 3 == 0, None, "t").astype(object)
    frame = pd.DataFrame(
        {
            "a": np.arange(rows, dtype="float64"),
            "b": b,
            "c": pd.array(c, dtype="string"),
            "y": np.arange(rows) % 2,
        }
    )
    paths.PREPARED_DIR.mkdir(parents=True)
    arrow_schema = pa.Schema.from_pandas(frame, preserve_index=False)
    with pq.ParquetWriter(paths.split_path("train"), arrow_schema) as out:
        for part in np.array_split(np.arange(rows), groups):
            out.write_table(pa.Table.from_pandas(frame.iloc[part], preserve_index=False))
    return frame


def rows_of(blocks) -> np.ndarray:
    return np.concatenate([x["a"][:, 0] for x, _ in blocks])


def test_split_blocks_in_order_or_shuffled_per_epoch_cover_every_row_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data, "SHUFFLE_ROWS", 100)  # windows of several row groups, not the whole
    write_split(1000, groups=20)
    blocks = list(split_blocks("train", SCHEMA, FEATURES, rows=64))
    assert {len(y) for _, y in blocks} == {50}  # in order: row group by row group
    assert rows_of(blocks).tolist() == list(range(1000))
    x, y = blocks[0]
    assert x["a"].dtype == np.float32 and x["a"][:4, 0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert np.isnan(x["b_in"][1, 0]) and x["b_in"][3, 0] == -3.0  # keyed by input name, NaN = missing
    assert x["c"][:4, 0].tolist() == ["", "t", "t", ""] and y[:4].tolist() == [0, 1, 0, 1]

    shuffled = list(split_blocks("train", SCHEMA, FEATURES, shuffle=(0, 0), rows=64))
    assert max(len(y) for _, y in shuffled) == 64
    epoch0 = rows_of(shuffled)
    assert sorted(epoch0.tolist()) == list(range(1000))
    assert (
        epoch0.tolist() == rows_of(split_blocks("train", SCHEMA, FEATURES, shuffle=(0, 0), rows=64)).tolist()
    )
    epoch1 = rows_of(split_blocks("train", SCHEMA, FEATURES, shuffle=(0, 1), rows=64))
    assert epoch1.tolist() != epoch0.tolist()
    # Rows from far apart in the file meet in the first block (row groups come in random order).
    assert np.ptp(epoch0[:64]) > 100


def test_a_failed_split_writer_keeps_the_earlier_splits_and_leaves_no_temporary(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    frame = pd.DataFrame({"a": [1.0, 2.0], "y": [0, 1]})
    with SplitWriter() as writer:
        for name in ("train", "val", "holdout"):
            writer.write(name, frame)
    before = {p.name: p.read_bytes() for p in paths.PREPARED_DIR.iterdir()}
    with pytest.raises(RuntimeError), SplitWriter() as writer:
        writer.write("train", frame.assign(a=[9.0, 9.0]))
        raise RuntimeError("killed half-way")
    assert {p.name: p.read_bytes() for p in paths.PREPARED_DIR.iterdir()} == before
    with (
        pytest.raises(DataError, match=r"no rows to the \['val', 'holdout'\] split"),
        SplitWriter() as writer,
    ):
        writer.write("train", frame)
    assert {p.name: p.read_bytes() for p in paths.PREPARED_DIR.iterdir()} == before


def test_the_in_memory_epoch_order_is_the_streamed_one(tmp_path, monkeypatch):
    """core/epoch_order.py replays split_blocks' shuffle: the input path never changes the model."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(data, "SHUFFLE_ROWS", 100)
    write_split(1000, groups=20)
    groups = data.split_group_rows("train")
    assert groups == [50] * 20
    for epoch in (0, 1):
        streamed = rows_of(split_blocks("train", SCHEMA, FEATURES, shuffle=(3, epoch), rows=64))
        assert epoch_order(groups, (3, epoch), 100).tolist() == streamed.astype(int).tolist()
    assert epoch_order(groups, None, 100).tolist() == list(range(1000))
    # A split smaller than a window is shuffled whole, in one window.
    monkeypatch.setattr(data, "SHUFFLE_ROWS", 10_000)
    whole = rows_of(split_blocks("train", SCHEMA, FEATURES, shuffle=(0, 0), rows=64))
    assert epoch_order(groups, (0, 0), 10_000).tolist() == whole.astype(int).tolist()
