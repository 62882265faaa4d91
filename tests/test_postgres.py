"""Team scale: the same pipeline, gate and service against `mlflow server` on PostgreSQL."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import make_project, run_ok, serve, tool_env, tracking_server
from tests.helpers import free_port

pytestmark = pytest.mark.integration

BINDIR = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"))), None)


def as_postgres_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as Debian's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="module")
def postgres():
    """A throw-away PostgreSQL cluster on 127.0.0.1, trust auth, database `mlflow`."""
    if BINDIR is None:
        pytest.skip("needs Debian's postgresql (make test installs it as root)")
    # Not under pytest's tmp dir: that is private to root, and the server runs as `postgres`.
    home = Path(tempfile.mkdtemp(prefix="pytest-postgres-"))
    data = home / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(
        as_postgres_user([f"{BINDIR}/initdb", "-D", str(data), "-A", "trust", "-U", "mlflow"]),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        as_postgres_user(
            [
                f"{BINDIR}/pg_ctl",
                "-D",
                str(data),
                "-l",
                str(home / "pg.log"),
                "-w",
                "-o",
                f"-h 127.0.0.1 -p {port} -k {home}",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [f"{BINDIR}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "mlflow", "mlflow"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg2://mlflow@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run(
            as_postgres_user([f"{BINDIR}/pg_ctl", "-D", str(data), "-m", "fast", "stop"]), capture_output=True
        )
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def team_server(tmp_path_factory, postgres):
    with tracking_server(Path(tmp_path_factory.mktemp("team-mlflow")), postgres) as url:
        yield url


def test_pipeline_gate_and_service_unchanged_on_postgresql(tmp_path, team_server):
    repo = make_project(tmp_path, {"train.epochs": 4, "register.model_name": "team-model"})
    env = tool_env(MLFLOW_TRACKING_URI=team_server)
    run_ok(["dvc", "repro"], repo, env)
    registry = MlflowClient(team_server)
    assert registry.get_model_version_by_alias("team-model", "champion").version == "1"
    # The gate, on the shared store: an unmeetable margin keeps version 1.
    run_ok(["dvc", "exp", "run", "-S", "register.min_improvement=1.0"], repo, env)
    assert registry.get_model_version("team-model", "2").tags["promoted"] == "False"
    assert registry.get_model_version_by_alias("team-model", "champion").version == "1"
    # Artifacts went through the server (served artifacts), not to a local folder.
    assert not (repo / "mlruns").exists() and not (repo / "mlflow.db").exists()
    records = pd.read_parquet(repo / "data/prepared/holdout.parquet").drop(columns="target")
    expected = pd.read_parquet(repo / "reports/eval/predictions.parquet")
    with serve([sys.executable, "-m", "serving"], repo, env) as client:
        body = client.post("/predict", json={"records": records.to_dict("records")}).json()
    assert (body["model"], body["version"]) == ("team-model", "1")
    assert [str(p["label"]) for p in body["predictions"]] == expected["label"].tolist()
