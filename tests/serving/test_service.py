"""The service for real: `python -m serving` (bentoml serve) over HTTP, on a real registry."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tests.conftest import free_port, run_ok, serve, tool_env
from tests.serving.conftest import MAX_RECORDS, MODEL, holdout

pytestmark = pytest.mark.integration

def test_holdout_answers_equal_the_pipeline_own(served):
    repo, client = served
    records, expected = holdout(repo)
    response = client.post("/predict", json={"records": records})
    assert response.status_code == 200
    body = response.json()
    assert (body["model"], body["version"], body["threshold"]) == (MODEL, "1", 0.5)
    got = np.array([[p["probabilities"]["0"], p["probabilities"]["1"]]
                    for p in body["predictions"]])
    np.testing.assert_allclose(got, expected[["p_0", "p_1"]].to_numpy(), atol=1e-5)
    assert [str(p["label"]) for p in body["predictions"]] == expected["label"].tolist()


def test_threshold_override_flips_labels(served):
    repo, client = served
    records, expected = holdout(repo)
    p1 = expected["p_1"].to_numpy()
    custom = float(np.median(p1))
    for threshold, positive in ((0.0, np.ones_like(p1, bool)), (1.0, p1 >= 1.0),
                                (custom, p1 >= custom)):
        body = client.post("/predict", json={"records": records, "threshold": threshold}).json()
        assert body["threshold"] == threshold
        labels = np.array([p["label"] for p in body["predictions"]])
        np.testing.assert_array_equal(labels == 1, positive)
    assert 0 < (p1 >= custom).sum() < len(p1)  # the custom value really splits the batch


def test_metadata_describes_the_served_version(served):
    repo, client = served
    meta = client.post("/metadata", json={}).json()
    assert (meta["model"], meta["version"], meta["task"]) == (MODEL, "1", "binary")
    assert meta["class_labels"] == [0, 1]
    assert len(meta["features"]) == 30
    assert meta["features"][0] == {"name": "mean radius", "dtype": "float64"}


def test_bad_requests_get_4xx_naming_record_and_field(served):
    repo, client = served
    good = holdout(repo)[0][0]
    cases = [
        ({"records": [{k: v for k, v in good.items() if k != "mean radius"}]}, 0, "mean radius", "missing"),
        ({"records": [good, {**good, "colour": 1}]}, 1, "colour", "unknown feature"),
        ({"records": [{**good, "mean area": "big"}]}, 0, "mean area", "is not a number"),
        ({"records": [{**good, "mean area": 1e39}]}, 0, "mean area", "not a finite"),
        ({"records": []}, None, "records", "non-empty"),
        ({"records": [good] * (MAX_RECORDS + 1)}, None, "records", "exceed the maximum"),
        ({"records": [good], "threshold": 1.5}, None, "threshold", "in [0, 1]"),
    ]
    for payload, index, field, problem in cases:
        response = client.post("/predict", json=payload)
        assert response.status_code == 422, payload
        first = response.json()["problems"][0]
        assert (first["index"], first["field"]) == (index, field)
        assert problem in first["problem"]
        assert "Traceback" not in response.text
    # NaN is not JSON; a client that sends the literal anyway is refused too.
    nan_body = json.dumps({"records": [{**good, "mean radius": float("nan")}]})
    assert "NaN" in nan_body
    nan = client.post("/predict", content=nan_body, headers={"content-type": "application/json"})
    assert nan.status_code == 422
    assert nan.json()["problems"] == [
        {"index": 0, "field": "mean radius", "problem": "nan is not a finite float32 number"}]
    huge = client.post("/predict", json={"records": [good] * 1000})
    assert huge.status_code == 413
    assert "exceeds the limit of 200000" in huge.json()["error"]

    def chunked():
        yield b'{"records": ['
        for _ in range(1000):
            yield json.dumps(good).encode() + b","
        yield b"]}"

    streamed = client.post("/predict", content=chunked(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    form = client.post("/predict", content=b"--x\r\n", headers={"content-type": "multipart/form-data"})
    assert form.status_code == 415 and "send a JSON body" in form.json()["error"]
    overflow = client.post("/predict", json={"records": [{k: 3.4e38 for k in good}, good]})
    assert overflow.status_code == 422
    assert overflow.json()["problems"] == [{"index": 0, "field": None, "problem": (
        "the model's output overflowed for this record: its values are far outside the range "
        "the model was trained on; check their units")}]
    broken = client.post("/predict", content=b'{"records": [', headers={"content-type": "application/json"})
    assert broken.status_code == 400
    assert "Traceback" not in broken.text
    # Still healthy and answering afterwards.
    assert client.get("/readyz").status_code == 200
    assert client.post("/predict", json={"records": [good]}).status_code == 200


def test_no_champion_is_refused_at_start_up(served, mlflow_server):
    repo, _ = served
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server, MODEL_NAME="never-trained")
    done = subprocess.run([sys.executable, "-m", "serving", "--port", str(free_port())],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "model 'never-trained' has no 'champion' alias" in done.stderr
    assert "run the pipeline first" in done.stderr


def test_concurrent_requests_are_all_answered_with_their_own_rows(served):
    """Requests that share a batched model call each get the answer for their own record."""
    repo, client = served
    records, expected = holdout(repo)

    def one(i: int) -> float:
        return client.post("/predict", json={"records": [records[i]]}).json()["predictions"][0]

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(len(records))))
    got = np.array([a["probabilities"]["1"] for a in answers])
    np.testing.assert_allclose(got, expected["p_1"].to_numpy(), atol=1e-5)


def test_bento_serves_the_champion_without_the_registry(served, mlflow_server, tmp_path):
    repo, client = served
    home = str(tmp_path / "bentoml")
    run_ok([sys.executable, "-m", "serving.bento"], repo,
           tool_env(MLFLOW_TRACKING_URI=mlflow_server, BENTOML_HOME=home))
    assert not (repo / "serving/packaged_model.json").exists()  # only the Bento has it
    nowhere = tmp_path / "no-registry.db"
    offline = tool_env(MLFLOW_TRACKING_URI=f"sqlite:///{nowhere}", BENTOML_HOME=home)
    records, _ = holdout(repo)
    with serve(["bentoml", "serve", "classifier:latest"], tmp_path, offline) as bento:
        packaged = bento.post("/predict", json={"records": records}).json()
        meta = bento.post("/metadata", json={}).json()
    assert packaged == client.post("/predict", json={"records": records}).json()
    assert (meta["model"], meta["version"], meta["threshold"]) == (MODEL, "1", 0.5)
    assert not nowhere.exists()  # the registry was never opened
