"""The prepared splits as MLflow datasets: the inputs a run trained and was evaluated on."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import mlflow
import mlflow.data
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.models import infer_signature

from pipeline.core.schema import Schema
from pipeline.io.data import read_head, split_rows


class SplitDataset(MetaDataset):
    """A prepared split as MLflow sees a dataset: source, digest, schema and row count, from
    the parquet file's first rows and footer, never the whole split in memory."""

    def __init__(self, source: str, name: str, digest: str, split: str) -> None:
        head = read_head(split).to_pandas()
        super().__init__(
            resolve_dataset_source(source), name=name, digest=digest, schema=infer_signature(head).inputs
        )
        self._profile = {"num_rows": split_rows(split), "num_elements": split_rows(split) * head.shape[1]}

    @property
    def profile(self) -> dict[str, int]:
        return self._profile

    def to_dict(self) -> dict[str, str]:
        return {**super().to_dict(), "profile": json.dumps(self._profile)}


def log_split(split: str, context: str, source: str, schema: Schema) -> None:
    """A prepared split as an MLflow dataset input (name, digest, source): the UI's Datasets
    column. Train logs its training and validation splits, evaluate the holdout."""
    with warnings.catch_warnings():  # a local path "can be interpreted in multiple ways"; either is right
        warnings.simplefilter("ignore", UserWarning)
        dataset = SplitDataset(source, f"{Path(source).stem}-{split}", schema.data_hash[:16], split)
    mlflow.log_input(dataset, context=context)
