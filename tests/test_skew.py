"""One answer everywhere: raw rows (missing numbers, missing and unseen categories, extreme
values, shuffled column order) get the same labels and probabilities, or values, from the
evaluate stage's scorer, the BentoML service over HTTP, `make predict` on a file, and
MLflow's own model under `mlflow models serve`, for each task."""

from __future__ import annotations

import json
import sys
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
from tests.conftest import MODEL, mlflow_models_serve, run_ok, tool_env
from tests.messy import LABELS, TARGET, golden_rows, penguin_table

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


def trained(task: Task, request) -> tuple[Path, dict, str, httpx.Client]:
    """The suite's shared projects: `served` for binary, `messy_project` for the other tasks.

    Each is asked for only when needed, so a task's test never builds the others' (nor, under
    xdist, runs in their group: tests/conftest.py)."""
    if task == "binary":
        repo, client = request.getfixturevalue("served")
        return repo, tool_env(MLFLOW_TRACKING_URI=request.getfixturevalue("mlflow_server")), MODEL, client
    project = request.getfixturevalue("messy_project")(task)
    return project.repo, project.env, project.name, project.client


@pytest.mark.parametrize(
    "task",
    [
        pytest.param("binary", marks=pytest.mark.xdist_group("served")),
        pytest.param("multiclass", marks=pytest.mark.xdist_group("messy_project")),
        pytest.param("regression", marks=pytest.mark.xdist_group("messy_project")),
    ],
)
def test_every_consumer_gives_the_same_answer_to_raw_rows(request, task):
    table = penguin_table(task=task)
    golden = golden_rows(table)
    records = json.loads(golden.to_json(orient="records"))  # NaN becomes null
    repo, env, name, client = trained(task, request)
    env = {**env, "MODEL_NAME": name}
    # 1. The evaluate stage's scorer (the NumPy forward pass), in this process.
    contract = read_contract(repo / "models/contract.json")
    out = outputs(model_logits(repo / "models/model.keras")(model_inputs(golden, contract.features)), task)
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
