"""Reading the raw table in batches: CSV (pyarrow's streaming reader) or parquet."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipeline.core.errors import DataError
from pipeline.core.table import empty_table


class Consumer(Protocol):
    """What a pass over the table feeds: one batch at a time."""

    def add(self, batch: pd.DataFrame) -> None: ...


T = TypeVar("T", bound=Consumer)

SUFFIXES = (".csv", ".parquet")
# pyarrow's CSV reader reads some 35 blocks ahead: 1 MiB blocks (about 3,000 rows of 30
# numbers) keep that near 40 MB, and a batch still costs far less to check than to parse.
CSV_BLOCK_BYTES = 1 << 20
PARQUET_BATCH_ROWS = 16_384


class _Retype(Exception):
    """A CSV column changed type after the first block: read again with it widened."""

    def __init__(self, column: str, arrow_type: pa.DataType) -> None:
        self.column, self.arrow_type = column, arrow_type


class TableReader:
    """A CSV or parquet table as pandas batches, each typed as the whole column would be.

    pyarrow's CSV reader types a column from the first block; when a later block disagrees
    (an integer column with a 1.5, a number column with text), `scan` widens that column
    (integer to float, then to text) and reads again from the start, so every batch of the
    table agrees with what reading it whole would have given, at a fraction of the memory.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.shown = str(path)
        if self.path.suffix.lower() not in SUFFIXES:
            raise DataError(
                f"data.path = {self.shown!r}: unsupported file type {self.path.suffix!r}. "
                "Fix: use a .csv or .parquet file."
            )
        if not self.path.is_file():
            raise DataError(f"data.path = {self.shown!r} does not exist. Fix: point it at your table.")
        self.csv = self.path.suffix.lower() == ".csv"
        self.types: dict[str, pa.DataType] = {}

    def header(self) -> list[str]:
        if not self.csv:
            return list(self._parquet().schema_arrow.names)
        header = check_csv_header(self.path)
        if not header:
            raise empty_table(self.shown)
        if len(header) == 1:
            for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
                if separator in header[0]:
                    raise DataError(
                        f"data.path = {self.shown!r}: one column named {header[0][:60]!r}: the file looks "
                        f"separated by {name}, not commas. Fix: save it as comma-separated CSV or parquet."
                    )
        return header

    def scan(self, start: Callable[[list[str]], T]) -> T:
        """One pass over the table into `start(header)`'s result, which takes `add(batch)`.

        Restarted (with a fresh consumer) when a CSV column must be widened; at most twice a
        column, so the types are settled when this returns and `batches()` reads the same.
        """
        while True:
            consumer = start(self.header())
            try:
                for batch in self.batches():
                    consumer.add(batch)
                return consumer
            except _Retype as retype:
                self.types[retype.column] = retype.arrow_type

    def batches(self) -> Iterator[pd.DataFrame]:
        if not self.csv:
            try:
                for batch in self._parquet().iter_batches(batch_size=PARQUET_BATCH_ROWS):
                    yield batch.to_pandas(date_as_object=False)
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"data.path = {self.shown!r} could not be read: {exc}") from None
            return
        header = self.header()
        try:
            reader = pa_csv.open_csv(
                self.path,
                read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                convert_options=pa_csv.ConvertOptions(column_types=self.types, strings_can_be_null=True),
            )
            for batch in reader:
                yield batch.to_pandas(date_as_object=False)
        except pa.ArrowInvalid as exc:
            raise self._explain(exc, header) from None

    def _explain(self, exc: pa.ArrowInvalid, header: list[str]) -> Exception:
        message = str(exc)
        conversion = re.search(r"In CSV column #(\d+): .*conversion error to (\w+)", message)
        if conversion:  # integers (or an empty start) widen to float; anything else to text
            column, was = header[int(conversion.group(1))], conversion.group(2)
            return _Retype(column, pa.float64() if was.startswith(("int", "uint", "null")) else pa.string())
        if "Expected" in message and "columns, got" in message:
            ragged = first_ragged_line(self.path)
            if ragged:
                line, saw, expected = ragged
                return DataError(
                    f"data.path = {self.shown!r}: line {line} has {saw} fields where the header has "
                    f"{expected}. Fix: repair that row (an unquoted comma in a value?) or remove it."
                )
        return DataError(f"data.path = {self.shown!r} could not be parsed as CSV: {message}")

    def _parquet(self) -> pq.ParquetFile:
        try:
            return open_parquet(self.path)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"data.path = {self.shown!r} could not be read as parquet: {exc}") from None


def open_parquet(path: str | Path) -> pq.ParquetFile:
    """Without pre-buffering, which keeps the column chunks of many row groups in memory at
    once (a 1M-row file grew the reader by 170 MB); batches are read one at a time."""
    return pq.ParquetFile(path, pre_buffer=False)


def first_ragged_line(path: Path) -> tuple[int, int, int] | None:
    """(line, fields, header fields) of the first row whose width differs from the header's."""
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        rows = csv.reader(handle)
        expected = len(next(rows, []))
        for row in rows:
            if row and len(row) != expected:
                return rows.line_num, len(row), expected
    return None


def check_csv_header(path: Path) -> list[str]:
    """The header, refused when it names a column twice (readers would rename one silently)."""
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])
    duplicated = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicated:
        raise DataError(
            f"data.path = {str(path)!r}: duplicate column name(s) {duplicated} in the header. "
            "Fix: give every column its own name."
        )
    return header


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
