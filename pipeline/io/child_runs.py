"""MLflow runs inside a run: one per learning rate of `make lr-find`, one per trial of `make tune`.

The parent is the command's own run (tracking.new_run); each child carries its params, its curves
(step = epoch, as the train stage logs them) and its outcome as tags, so the UI shows the search as
one expandable row and any child beside an ordinary training run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import mlflow

from pipeline.io import tracking


@contextlib.contextmanager
def child_run(name: str, tags: Mapping[str, Any]) -> Iterator[str]:
    """A run nested under the active one; it ends FINISHED unless an exception escapes it."""
    with mlflow.start_run(run_name=name, nested=True, tags={k: str(v) for k, v in tags.items()}) as run:
        yield run.info.run_id


def log_epochs(rows: Sequence[Mapping[str, float]]) -> None:
    """Per-epoch metrics of the active run, one batch: `epoch` is the step, every other key a metric."""
    log = tracking.EpochLog()
    for row in rows:
        log(int(row["epoch"]), {k: v for k, v in row.items() if k != "epoch"})
    log.flush()
