"""MLflow tracking: one run per pipeline run, opened by train and reopened by later stages.

The run's lifecycle and what is logged into it (params, per-epoch and final metrics, tags,
artifacts). Beside it: the splits as MLflow datasets (`dataset_logging`), where a run came
from (`provenance`), the model itself (`model_logging`).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities import Metric, RunTag
from mlflow.exceptions import MlflowException

from pipeline.core.errors import PipelineError

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


def log_missing_epochs(run_id: str, rows: Sequence[Mapping[str, float]]) -> None:
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
        run = mlflow.active_run()
        if run is None:
            raise RuntimeError("epoch metrics are sent to the active MLflow run: start it first")
        run_id = run.info.run_id
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


def record(metrics: Mapping[str, float], tags: Mapping[str, Any]) -> None:
    """Metrics and tags on the active run in one write (`log_batch`): one store transaction
    instead of one per `log_metrics` / `set_tags` call, a few ms each on SQLite."""
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("record writes to the active MLflow run: start it first")
    stamp = int(time.time() * 1000)
    mlflow.MlflowClient().log_batch(
        run.info.run_id,
        metrics=[Metric(key, float(value), stamp, 0) for key, value in metrics.items()],
        tags=[RunTag(key, str(value)) for key, value in tags.items()],
    )


def log_artifact(path: str | Path, folder: str | None = None) -> None:
    mlflow.log_artifact(str(path), artifact_path=folder)
