"""One answer everywhere: raw rows (missing numbers, missing and unseen categories, extreme
values, shuffled column order) get the same labels and probabilities, or values, from the
evaluate stage's scorer, the BentoML service over HTTP, `make predict` on a file, and
MLflow's own model under `mlflow models serve`, for each task."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from pipeline.core.postprocess import outputs, predict_labels
from pipeline.core.rows import model_inputs
from pipeline.core.tasks import Task
from pipeline.io.data import read_contract
from pipeline.ml.scoring import model_logits
from tests.conftest import MODEL, make_project, mlflow_models_serve, run_ok, serve, tool_env
from tests.messy import LABELS, TABLE, TARGET, golden_rows, penguin_table, write_table

pytestmark = pytest.mark.integration


def answers(found: list[dict], task: Task) -> tuple[list[str], np.ndarray]:
    """(labels, probabilities per class), or ([], values), whatever shape a path answers in."""
    if task == "regression":
        return [], np.array([float(a["value"]) for a in found])
    return [str(a["label"]) for a in found], np.array(
        [
            [a["probabilities"][c] if "probabilities" in a else a[f"p_{c}"] for c in LABELS[task]]
            for a in found
        ]
    )


@contextlib.contextmanager
def trained(
    task: Task, tmp_path_factory, mlflow_server, request
) -> Iterator[tuple[Path, dict, str, httpx.Client]]:
    """The binary project and its service are the suite's shared ones; the other tasks get theirs.

    `served` is asked for only here, for binary: the other tasks need not wait for it (nor, under
    xdist, run in its group; tests/conftest.py)."""
    if task == "binary":
        repo, client = request.getfixturevalue("served")
        yield repo, tool_env(MLFLOW_TRACKING_URI=mlflow_server), MODEL, client
        return
    name = f"skew-{task}"
    repo = make_project(
        tmp_path_factory.mktemp(name),
        {"data.path": TABLE, "data.target": TARGET, "train.epochs": 8, "register.model_name": name},
    )
    write_table(repo, task)
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server, MODEL_NAME=name)
    run_ok(["dvc", "repro"], repo, env)
    with serve([sys.executable, "-m", "serving"], repo, env) as client:
        yield repo, env, name, client


@pytest.mark.parametrize(
    "task", [pytest.param("binary", marks=pytest.mark.xdist_group("served")), "multiclass", "regression"]
)
def test_every_consumer_gives_the_same_answer_to_raw_rows(tmp_path_factory, mlflow_server, request, task):
    table = penguin_table(task=task)
    golden = golden_rows(table)
    records = json.loads(golden.to_json(orient="records"))  # NaN becomes null
    with trained(task, tmp_path_factory, mlflow_server, request) as (repo, env, name, client):
        env = {**env, "MODEL_NAME": name}
        # 1. The evaluate stage's scorer (the NumPy forward pass), in this process.
        contract = read_contract(repo / "models/contract.json")
        out = outputs(
            model_logits(repo / "models/model.keras")(model_inputs(golden, contract.features)), task
        )
        threshold = json.loads((repo / "reports/eval/threshold.json").read_text())["threshold"]
        expected = (
            [] if task == "regression" else [str(v) for v in predict_labels(out, LABELS[task], threshold)],
            out,
        )
        # 2. The BentoML service, over HTTP.
        response = client.post("/predict", json={"records": records})
        assert response.status_code == 200, response.text
        paths = {"service": answers(response.json()["predictions"], task)}
    # 3. `make predict` on a file in the training table's format, the target column included.
    golden.assign(**{TARGET: table[TARGET].head(len(golden)).to_numpy()}).to_csv(
        repo / "golden.csv", index=False
    )
    run_ok([sys.executable, "-m", "pipeline.predict", "golden.csv", "-o", "scored.csv"], repo, env)
    paths["predict"] = answers(
        pd.read_csv(repo / "scored.csv", keep_default_na=False).to_dict("records"), task
    )
    # 4. MLflow's own interface: the registered champion under `mlflow models serve`.
    with mlflow_models_serve(f"models:/{name}@champion", repo, env) as url:
        answer = httpx.post(f"{url}/invocations", json={"dataframe_records": records}, timeout=60)
    assert answer.status_code == 200, answer.text
    paths["mlflow"] = answers(answer.json()["predictions"], task)

    for path, (labels, values) in paths.items():
        assert labels == expected[0], path
        # Probabilities to 1e-6; values (float32, in the target's units) to 1e-6 of their size.
        np.testing.assert_allclose(
            values, expected[1], rtol=1e-6 if task == "regression" else 0, atol=1e-6, err_msg=path
        )
