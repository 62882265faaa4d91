"""Shared fixtures: a real `mlflow server` on 127.0.0.1 and a throw-away copy of the project."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

from tests.helpers import free_port, set_dotted

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv that runs the tests also runs the stages


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Groups for `pytest -n 2 --dist loadgroup` (make test): each group runs whole on one worker.

    First among the hooks: xdist's own (registered after this file, so called before it
    otherwise) turns each test's `xdist_group` mark into its scheduling group, and must see them.

    The tests that use a shared project go to its group (`served`, `messy_project`), so it is
    trained and served once; every other test goes with its module, so a module's own project
    (a module-scoped fixture) is built once. A test that asks for a shared project lazily says
    so with its own `xdist_group` mark. Without xdist the marks change nothing.
    """
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        fixtures = getattr(item, "fixturenames", ())
        group = next((f for f in ("served", "messy_project") if f in fixtures), item.nodeid.split("::")[0])
        item.add_marker(pytest.mark.xdist_group(group))
    # The longest groups first, the many short ones last to fill in: a long group started last
    # would run alone at the end (make test passes --no-loadscope-reorder to keep this order).
    rank = {group: i for i, group in enumerate(LONGEST_GROUPS_FIRST)}
    items.sort(key=lambda item: rank.get(_group(item), len(rank)))


# The longest groups of `make test` on this 2-core machine (2026-12-01, groups kept whole, both
# workers busy): served (the project 75 s, load 66 s, fuzz, skew, batch scoring 48 s, ...),
# test_retrain (the first retrain 77 s, policy 59 s, kill and resume 54 s, ...), test_pipeline
# (grid 91 s, run cache 62 s, ...), messy_project (skew 65 s + 62 s, tasks), test_postgres 64 s,
# test_multi_worker 64 s. An unlisted group runs after these.
LONGEST_GROUPS_FIRST = [
    "served",
    "tests/test_retrain.py",
    "tests/test_pipeline.py",
    "messy_project",
    "tests/test_postgres.py",
    "tests/test_multi_worker.py",
    "tests/test_tune.py",
    "tests/ml/test_model.py",
    "tests/stages/test_malformed.py",
    "tests/test_drift.py",
    "tests/test_lr_find.py",
    "tests/stages/test_best_weights.py",
]


def _group(item) -> str:
    marker = item.get_closest_marker("xdist_group")
    return marker.args[0] if marker is not None and marker.args else ""


def wait_for_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def tool_env(**extra: str) -> dict[str, str]:
    """The environment a user has after activating the venv."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(extra)
    return env


def untraced(env: dict[str, str]) -> dict[str, str]:
    """`env` without what makes a Python process measure coverage (`make test` sets it): for
    servers that never import pipeline/ or serving/, where tracing costs a third more CPU for
    nothing measured."""
    return {k: v for k, v in env.items() if k not in ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")}


@contextlib.contextmanager
def tracking_server(home: Path, backend_store_uri: str) -> Iterator[str]:
    """`mlflow server` on a free loopback port over a backend store, serving its artifacts."""
    port = free_port()
    with open(home / "server.log", "w") as log:
        process = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                backend_store_uri,
                "--artifacts-destination",
                str(home / "artifacts"),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=untraced(tool_env()),
            cwd=home,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/health", timeout=120, process=process)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real tracking server with its own SQLite store and served artifacts."""
    home = tmp_path_factory.mktemp("mlflow-server")
    with tracking_server(home, f"sqlite:///{home / 'mlflow.db'}") as url:
        yield url


# Written by a local `dvc repro`; a fresh clone starts without them.
GENERATED = {"dvc.lock"}
# Experiment state, not code: `dvc exp run -S key=value` in the workspace rewrites these (and
# `dvc exp apply` too), so the work tree's copy says which experiment ran last there, not what
# the project is. Tests take git's committed version.
COMMITTED = {"params.yaml"}


def project_files() -> list[str]:
    """What a fresh clone holds: the files git tracks (the tests themselves aside)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    return [
        f for f in listed if f and f not in GENERATED and (ROOT / f).is_file() and not f.startswith("tests/")
    ]


def committed(name: str) -> bytes:
    """A file as git's HEAD commit holds it, whatever the work tree holds now."""
    return subprocess.run(["git", "show", f"HEAD:{name}"], cwd=ROOT, capture_output=True, check=True).stdout


def committed_params() -> dict:
    """The committed `params.yaml`: what a test starts from, never the workspace's last experiment."""
    return yaml.safe_load(committed("params.yaml"))


def make_project(destination: Path, overrides: dict | None = None) -> Path:
    """Copy the project into `destination`, apply params overrides, commit it to a new git repo.

    Which version of each file: the code (every file git tracks) as it is in the work tree,
    uncommitted edits included, because the change under test is usually not committed yet; a
    new file counts once `git add` tracks it. The files in COMMITTED (`params.yaml`) come from
    HEAD, because `dvc exp run -S` rewrites them in the workspace: a test's params are the
    committed defaults plus its own `overrides`, whichever experiment ran last in the
    workspace. A new default in params.yaml is therefore tested once committed. Nothing that
    is generated comes along (dvc.lock, DVC outputs, mlflow.db: git tracks none of them).
    """
    for name in project_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if name in COMMITTED:
            target.write_bytes(committed(name))
        else:
            shutil.copy2(ROOT / name, target)
    if overrides:
        params_path = destination / "params.yaml"
        params = set_dotted(yaml.safe_load(params_path.read_text()), overrides)
        params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=destination, check=True)
    subprocess.run([*git, "add", "-A"], cwd=destination, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "project"], cwd=destination, check=True)
    return destination


def run_ok(cmd: list[str], cwd, env) -> subprocess.CompletedProcess:
    """Run a command to completion; fail the test with its output if it fails."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


def plot_panels(repo: Path, env) -> set[str]:
    """The panels `dvc plots show` draws in `repo`'s workspace, having warned about nothing (a
    plot naming a file or a field the task did not write warns and draws an empty panel)."""
    done = run_ok(["dvc", "plots", "show", "--json"], repo, env)
    assert "failed to load" not in done.stderr and "WARNING" not in done.stderr, done.stderr
    return set(json.loads(done.stdout)["data"])


@contextlib.contextmanager
def serve(cmd: list[str], cwd: Path, env: dict[str, str]) -> Iterator[httpx.Client]:
    """A server started with `--port <free port>`, ready, its log in cwd; stopped afterwards."""
    port = free_port()
    with open(cwd / f"serve-{port}.log", "w") as log:
        process = subprocess.Popen(
            [*cmd, "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for_http(f"{url}/readyz", timeout=180, process=process)
            with httpx.Client(base_url=url, timeout=30) as client:
                yield client
        finally:
            stop_group(process)


def stop_group(process: subprocess.Popen) -> None:
    """bentoml serve runs its workers as children: stop the whole process group."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=30)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


MODEL = "penguins-test"
MAX_RECORDS = 200
MAX_BODY_BYTES = 200_000  # about 1,000 records of this table: the record cap bites first


@pytest.fixture(scope="session")
def served(tmp_path_factory, mlflow_server):
    """The pipeline run on the messy table (tests/messy.py) with only its path and target set,
    and the service serving its champion: shared by the serving, batch scoring and skew tests."""
    from tests.messy import TABLE, TARGET, write_table

    repo = make_project(
        tmp_path_factory.mktemp("served"),
        {"data.path": TABLE, "data.target": TARGET, "train.epochs": 8, "register.model_name": MODEL},
    )
    write_table(repo)
    env = tool_env(
        MLFLOW_TRACKING_URI=mlflow_server, MAX_RECORDS=str(MAX_RECORDS), MAX_BODY_BYTES=str(MAX_BODY_BYTES)
    )
    run_ok(["dvc", "repro"], repo, env)
    with serve([sys.executable, "-m", "serving"], repo, env) as client:
        yield repo, client


@dataclass
class TaskProject:
    """A project trained on the messy table for one task (its stdout kept), and its service."""

    repo: Path
    env: dict[str, str]
    name: str
    stdout: str
    client: httpx.Client


@pytest.fixture(scope="session")
def messy_project(tmp_path_factory, mlflow_server) -> Iterator:
    """`messy_project(task)`: the multi-class and regression counterparts of `served`, each run
    and served once for the whole session, when first asked for (the task and skew tests share
    them; under xdist they share a group, tests/conftest.py)."""
    from tests.messy import TABLE, TARGET, write_table

    built: dict[str, TaskProject] = {}
    with contextlib.ExitStack() as services:

        def get(task: str) -> TaskProject:
            if task not in built:
                name = f"messy-{task}"
                repo = make_project(
                    tmp_path_factory.mktemp(name),
                    {
                        "data.path": TABLE,
                        "data.target": TARGET,
                        "train.epochs": 20,
                        "register.model_name": name,
                    },
                )
                write_table(repo, task)
                env = tool_env(MLFLOW_TRACKING_URI=mlflow_server, MODEL_NAME=name)
                done = run_ok(["dvc", "repro"], repo, env)
                client = services.enter_context(serve([sys.executable, "-m", "serving"], repo, env))
                built[task] = TaskProject(repo, env, name, done.stdout, client)
            return built[task]

        yield get


def holdout(repo: Path) -> tuple[list[dict], pd.DataFrame]:
    """The holdout split's rows (target included: it is accepted and ignored) and what evaluate
    answered for them."""
    from tests.messy import natural

    frame = pd.read_parquet(repo / "data/prepared/holdout.parquet")
    return natural(frame), pd.read_parquet(repo / "reports/eval/predictions.parquet")


@contextlib.contextmanager
def mlflow_models_serve(model_uri: str, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """`mlflow models serve` of `model_uri` in the tests' own environment, ready; its URL."""
    port = free_port()
    with open(cwd / f"mlflow-serve-{port}.log", "w") as log:
        process = subprocess.Popen(
            [
                str(BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                model_uri,
                "--env-manager",
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/ping", timeout=180, process=process)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_group(process)
