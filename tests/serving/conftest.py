"""The served champion shared by the serving modules: one pipeline run and one server per session."""

from __future__ import annotations

import sys

import httpx
import pandas as pd
import psutil
import pytest

from tests.conftest import make_project, run_ok, serve, tool_env

MODEL = "serving-test"
MAX_RECORDS = 200
MAX_BODY_BYTES = 200_000  # about 300 records of this table: the record cap bites first


@pytest.fixture(scope="session")
def served(tmp_path_factory, mlflow_server):
    repo = make_project(tmp_path_factory.mktemp("served"),
                        {"train.epochs": 4, "register.model_name": MODEL})
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server, MAX_RECORDS=str(MAX_RECORDS),
                   MAX_BODY_BYTES=str(MAX_BODY_BYTES))
    run_ok(["dvc", "repro"], repo, env)
    with serve([sys.executable, "-m", "serving"], repo, env) as client:
        yield repo, client


def holdout(repo) -> tuple[list[dict], pd.DataFrame]:
    frame = pd.read_parquet(repo / "data/prepared/holdout.parquet").drop(columns="target")
    return frame.to_dict("records"), pd.read_parquet(repo / "reports/eval/predictions.parquet")


def server_process(client: httpx.Client) -> psutil.Process:
    """The `bentoml serve` process behind `client`: the one started with `--port <its port>`.

    `serve` (tests/conftest.py) does not hand out its Popen, so the process is found by the
    port on its command line; its workers are its descendants (in sessions of their own).
    """
    port = str(client.base_url.port)
    found = []
    for process in psutil.process_iter(["pid", "ppid", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(a == "--port" and b == port for a, b in zip(cmdline, cmdline[1:])):
            found.append(process)
    pids = {p.info["pid"] for p in found}
    roots = [p for p in found if p.info["ppid"] not in pids]
    assert len(roots) == 1, f"expected one server process on port {port}, found {found}"
    return roots[0]
