"""Reading the raw table and the prepared splits."""

from __future__ import annotations

import hashlib
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
    try:
        return reader(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"data.path = {str(path)!r} could not be read: {exc}") from None


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


def read_split(name: str, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
    """Features as float32 (what the model takes); the target as class indices or values."""
    frame = pd.read_parquet(paths.split_path(name))
    x = frame[schema.features].to_numpy(dtype="float32")
    if schema.task == REGRESSION:
        return x, frame[schema.target].to_numpy(dtype="float32")
    return x, encode_labels(frame[schema.target], schema.class_labels)
