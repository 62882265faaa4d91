"""The raw table streamed in blocks small enough that every file spans many of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipeline.core.errors import DataError
from pipeline.io import table as raw_table
from pipeline.io.table import TableReader


class Batches:
    def __init__(self, header: list[str]) -> None:
        self.header, self.frames = header, []

    def add(self, batch: pd.DataFrame) -> None:
        self.frames.append(batch)


def test_a_csv_streamed_in_blocks_types_every_column_as_reading_it_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(raw_table, "CSV_BLOCK_BYTES", 512)
    n = 400
    table = pd.DataFrame(
        {
            "count": np.arange(n).astype(object),
            "score": (np.arange(n) * 0.5).astype(object),
            "late": [None] * 300 + [1.0] * 100,
            "y": np.arange(n) % 2,
        }
    )
    table.loc[350, "count"] = 1.5  # an integer column turns real after the first blocks
    table.loc[390, "score"] = "oops"  # a number column turns text
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)

    reader = TableReader(path)
    scanned = reader.scan(Batches)
    assert len(scanned.frames) > 10  # streamed, not read at once
    assert reader.types == {"count": pa.float64(), "score": pa.string(), "late": pa.float64()}
    streamed = pd.concat(scanned.frames, ignore_index=True)
    whole = pd.read_csv(path)
    assert streamed["count"].dtype == "float64" and streamed["count"].tolist() == whole["count"].tolist()
    assert streamed["score"].iloc[390] == "oops" and streamed["score"].iloc[2] == "1.0"
    assert streamed["late"].isna().sum() == 300 and streamed["y"].dtype == "int64"
    # The types are settled: a second pass reads the same, without starting over.
    assert pd.concat(reader.batches(), ignore_index=True).equals(streamed)


def test_a_ragged_row_far_into_a_streamed_csv_is_named_by_its_line(tmp_path, monkeypatch):
    monkeypatch.setattr(raw_table, "CSV_BLOCK_BYTES", 256)
    lines = ["a,b,y"] + [f"{i},{i},{i % 2}" for i in range(300)]
    lines[250] += ",7"
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="line 251 has 4 fields where the header has 3"):
        TableReader(tmp_path / "t.csv").scan(Batches)


def test_a_raw_csv_keeps_booleans_dates_and_empty_cells_as_such(tmp_path, monkeypatch):
    """What the column kinds are decided from: empty cells are nulls in every type, booleans with
    gaps stay booleans, ISO dates are dates."""
    monkeypatch.setattr(raw_table, "CSV_BLOCK_BYTES", 256)
    lines = ["alone,day,port,age,y"] + [
        f"{'' if i % 7 == 0 else ['true', 'false'][i % 2]},2024-01-{1 + i % 28:02d},"
        f"{'' if i % 5 == 0 else 'SCQ'[i % 3]},{'' if i % 4 == 0 else i},{i % 2}"
        for i in range(200)
    ]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    reader = TableReader(tmp_path / "t.csv")
    whole = pd.concat(reader.scan(Batches).frames, ignore_index=True)
    assert whole["alone"].isna().sum() == 29 and set(whole["alone"].dropna()) == {True, False}
    assert pd.api.types.is_datetime64_any_dtype(whole["day"])
    assert whole["port"].isna().sum() == 40 and not (whole["port"] == "").any()
    assert whole["age"].isna().sum() == 50 and whole["age"].dtype == "float64"
