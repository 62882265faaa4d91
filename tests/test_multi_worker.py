"""`train.distribute: multi_worker` for real: two worker processes on 127.0.0.1.

One process trains the bundled data first (`distribute: none`), as the reference. Then two
workers train it together; worker 1 is killed with SIGKILL in epoch 3, and the chief fails
with one clear error instead of waiting. Both are started again: the chief resumes from its
backup, worker 1 restores it too, and the run ends in the same MLflow run with a result
that matches the one process's. Only the chief writes the stage's outputs and tracks.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bench.multi_worker import start_workers
from tests.conftest import make_project, run_ok, tool_env
from tests.helpers import free_port

pytestmark = pytest.mark.integration
EPOCHS = 4


def set_train(repo: Path, **values) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"].update(values)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def wait_for(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.is_file() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in {path}:\n{path.read_text(errors='replace')[-3000:]}")


def runs_in(repo: Path) -> int:
    with sqlite3.connect(repo / "mlflow.db") as db:
        return db.execute("select count(*) from runs").fetchone()[0]


def test_two_workers_train_as_one_a_lost_worker_fails_the_run_and_a_restart_resumes(tmp_path):
    repo = make_project(tmp_path / "project", {"train.epochs": EPOCHS, "train.early_stopping.patience": 50})
    env = tool_env(
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'project' / 'mlflow.db'}", PYTHONUNBUFFERED="1"
    )
    for stage in ("fetch", "prepare", "train"):
        run_ok([sys.executable, "-m", f"pipeline.stages.{stage}"], repo, env)
    single = pd.read_csv(repo / "reports/train/history.csv")
    (repo / "reports/train/history.csv").unlink()
    (repo / "models/model.keras").unlink()

    set_train(repo, distribute="multi_worker")
    chief, worker = start_workers(repo, [free_port(), free_port()], env)
    wait_for(repo / "worker0.log", f"Epoch 3/{EPOCHS}", timeout=120)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    start = time.monotonic()
    assert chief.wait(timeout=120) == 2  # a clear failure, not a hang
    failed = (repo / "worker0.log").read_text()
    assert time.monotonic() - start < 120
    assert (
        "chief of 2: a worker stopped answering" in failed and "with the same TF_CONFIG to resume" in failed
    )
    assert not (repo / "models/model.keras").exists()  # nothing half-done for evaluate to read

    chief, worker = start_workers(repo, [free_port(), free_port()], env)
    assert [chief.wait(timeout=300), worker.wait(timeout=300)] == [0, 0], (repo / "worker0.log").read_text()[
        -3000:
    ]
    resumed, second = (repo / "worker0.log").read_text(), (repo / "worker1.log").read_text()
    assert "resuming run" in resumed and "after epoch 2" in resumed
    assert "worker 1 of 2: training shard 1; the chief writes" in second
    assert "[train] run" not in second  # only the chief tracks and reports

    pair = pd.read_csv(repo / "reports/train/history.csv")
    assert pair["epoch"].tolist() == list(range(1, EPOCHS + 1))
    # The same data and global batch: the result matches one process's within noise.
    assert abs(pair["val_loss"].iloc[-1] - single["val_loss"].iloc[-1]) < 0.05
    assert (repo / "models/model.keras").is_file() and (repo / "reports/train/run.json").is_file()
    assert runs_in(repo) == 2  # the single process's and the pair's, resumed in place
    written = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True
    ).stdout
    assert "tmp" not in written and "train-worker" not in written
