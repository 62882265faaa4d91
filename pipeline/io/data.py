"""Reading the raw table and the prepared splits."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core.errors import DataError
from pipeline.core.schema import Schema
from pipeline.core.splitting import encode_labels
from pipeline.core.tasks import REGRESSION
from pipeline.io import paths
from pipeline.io.files import atomic_path, read_json, write_json

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet}


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(
            f"data.path = {str(path)!r}: unsupported file type {path.suffix!r}. "
            "Fix: use a .csv or .parquet file."
        )
    if not path.is_file():
        raise DataError(f"data.path = {str(path)!r} does not exist. Fix: point it at your table.")
    if path.suffix.lower() == ".csv":
        check_csv_header(path)
    try:
        table = reader(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except pd.errors.ParserError as exc:
        ragged = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if ragged:
            expected, line, saw = ragged.groups()
            raise DataError(
                f"data.path = {str(path)!r}: line {line} has {saw} fields where the header has "
                f"{expected}. Fix: repair that row (an unquoted comma in a value?) or remove it."
            ) from None
        raise DataError(f"data.path = {str(path)!r} could not be parsed as CSV: {exc}") from None
    except (ValueError, OSError) as exc:
        raise DataError(f"data.path = {str(path)!r} could not be read: {exc}") from None
    if len(table.columns) == 1:
        header = str(table.columns[0])
        for separator, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
            if separator in header:
                raise DataError(
                    f"data.path = {str(path)!r}: one column named {header[:60]!r}: the file looks "
                    f"separated by {name}, not commas. Fix: save it as comma-separated CSV or parquet."
                )
    return table


def check_csv_header(path: Path) -> None:
    """Duplicate header names: pandas would silently rename the second `a` to `a.1`."""
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        header = next(csv.reader(handle), [])
    duplicated = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicated:
        raise DataError(
            f"data.path = {str(path)!r}: duplicate column name(s) {duplicated} in the header. "
            "Fix: give every column its own name."
        )


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_split(name: str, frame: pd.DataFrame) -> None:
    with atomic_path(paths.split_path(name)) as tmp:
        frame.to_parquet(tmp, index=False)


def write_schema(schema: Schema) -> None:
    write_json(paths.SCHEMA, schema.to_dict())


def read_schema() -> Schema:
    return Schema.from_dict(read_json(paths.SCHEMA))


def read_frame(name: str) -> pd.DataFrame:
    """A prepared split as the table it is (features and target)."""
    return pd.read_parquet(paths.split_path(name))


def read_split(name: str, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
    """Features as float32 (what the model takes); the target as class indices or values."""
    frame = read_frame(name)
    x = frame[schema.features].to_numpy(dtype="float32")
    if schema.task == REGRESSION:
        return x, frame[schema.target].to_numpy(dtype="float32")
    return x, encode_labels(frame[schema.target], schema.class_labels)
