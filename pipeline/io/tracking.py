"""MLflow tracking: one run per pipeline run, opened by train and reopened by later stages."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import mlflow
import mlflow.data
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from pipeline.core.errors import PipelineError
from pipeline.core.schema import Schema
from pipeline.io.data import read_head, split_rows

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI`, or the embedded SQLite store at the repository root.

    Under `dvc exp run --queue` or `--temp` a stage runs in a copy of the repository; DVC
    names the real root in DVC_ROOT, so those runs land in the same store as the others.
    """
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    root = os.environ.get("DVC_ROOT")
    return f"sqlite:///{Path(root).resolve() / 'mlflow.db'}" if root else DEFAULT_TRACKING_URI


def shown_uri(uri: str | None = None) -> str:
    """The tracking URI fit for a message or a log: any password in it is masked."""
    return re.sub(r"//([^/@:]+):[^/@]*@", r"//\1:***@", uri or tracking_uri())


def configure() -> str:
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    return uri


@contextlib.contextmanager
def new_run(experiment: str, run_name: str, tags: Mapping[str, str]) -> Iterator[str]:
    """Start the pipeline's run; a failure inside marks it FAILED in MLflow."""
    configure()
    found = mlflow.set_experiment(experiment)
    # Without this tag the UI opens the experiment on its GenAI overview, not the runs table.
    mlflow.MlflowClient().set_experiment_tag(
        found.experiment_id, "mlflow.experimentKind", "custom_model_development"
    )
    with mlflow.start_run(run_name=run_name, tags=dict(tags)) as run:
        yield run.info.run_id


@contextlib.contextmanager
def training_run(
    experiment: str, run_name: str, tags: Mapping[str, Any], resume_id: str | None = None
) -> Iterator[str]:
    """A new run, or the run a killed training left RUNNING, continued where it stopped."""
    configure()
    if resume_id is not None and _exists(resume_id):
        with mlflow.start_run(run_id=resume_id):
            set_tags({**tags, "resumed": True})
            yield resume_id
        return
    with new_run(experiment, run_name, {k: str(v) for k, v in tags.items()}) as run_id:
        yield run_id


def _exists(run_id: str) -> bool:
    try:
        mlflow.get_run(run_id)
    except MlflowException:
        return False
    return True


def log_missing_epochs(run_id: str, rows: list[Mapping[str, float]]) -> None:
    """Epochs a killed run logged locally but never sent (its batch was pending): send them."""
    sent = {m.step for m in mlflow.MlflowClient().get_metric_history(run_id, "loss")}
    log = EpochLog()
    for row in rows:
        if int(row["epoch"]) not in sent:
            log(int(row["epoch"]), {k: v for k, v in row.items() if k != "epoch"})
    log.flush()


@contextlib.contextmanager
def reopen_run(run_id: str) -> Iterator[str]:
    """Continue the run train started, so evaluate and register add to the same record."""
    configure()
    try:
        mlflow.get_run(run_id)
    except MlflowException:
        raise PipelineError(
            f"MLflow run {run_id} (from reports/train/run.json) is not in the tracking store "
            f"{shown_uri()!r}. The store was replaced or MLFLOW_TRACKING_URI changed since training. "
            "Fix: retrain with `dvc repro --force train`."
        ) from None
    with mlflow.start_run(run_id=run_id):
        yield run_id


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


def dvc_experiment() -> str | None:
    """The DVC experiment this run belongs to, under `dvc exp run` (DVC sets DVC_EXP_NAME)."""
    return os.environ.get("DVC_EXP_NAME") or None


def log_params(params: Mapping[str, Any]) -> None:
    mlflow.log_params({key: str(value) for key, value in params.items()})


class EpochLog:
    """Per-epoch metrics on step = epoch, sent in batches so the fit loop rarely waits.

    One `log_batch` every `every_s` seconds keeps the UI's curves live during long runs;
    a call per epoch (about 7 ms each to SQLite) or MLflow's asynchronous queue (whose
    shut-down waits over a second) would cost more than a short training itself.
    """

    def __init__(self, every_s: float = 10.0) -> None:
        self._every_s = every_s
        self._pending: list[Metric] = []
        self._last_flush = time.monotonic()

    def __call__(self, epoch: int, logs: Mapping[str, float]) -> None:
        stamp = int(time.time() * 1000)
        self._pending += [Metric(key, float(value), stamp, epoch) for key, value in logs.items()]
        if time.monotonic() - self._last_flush >= self._every_s:
            self.flush()

    def flush(self) -> None:
        run_id = mlflow.active_run().info.run_id
        client = mlflow.MlflowClient()
        # log_batch takes at most 1000 metrics per call.
        for start in range(0, len(self._pending), 1000):
            client.log_batch(run_id, metrics=self._pending[start : start + 1000])
        self._pending = []
        self._last_flush = time.monotonic()


def log_metrics(values: Mapping[str, float]) -> None:
    mlflow.log_metrics({key: float(value) for key, value in values.items()})


def set_tags(tags: Mapping[str, Any]) -> None:
    mlflow.set_tags({key: str(value) for key, value in tags.items()})


def log_artifact(path: str | Path, folder: str | None = None) -> None:
    mlflow.log_artifact(str(path), artifact_path=folder)


def git_commit() -> str:
    """The commit the code ran from, suffixed `-dirty` when the work tree had changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit
