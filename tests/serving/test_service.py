"""The service for real: `python -m serving` (bentoml serve) over HTTP, on a real registry, serving a
model trained on a messy table (text columns, missing numbers and categories, a boolean, an id
and a name column) from its path and target alone: natural records in, with text and nulls.

One test runs the service's ASGI app in this process over a stand-in model (no TensorFlow, no
registry), so its wiring is checked with the unit tests.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from pipeline.core.contract import BOOLEAN, CATEGORICAL, Contract, FeatureSpec
from pipeline.core.contract import NUMERIC as NUMBER
from tests.conftest import MAX_RECORDS, MODEL, holdout, run_ok, serve, tool_env
from tests.helpers import free_port
from tests.messy import NUMERIC, TARGET, natural, penguin_table

integration = pytest.mark.integration


@integration
def test_holdout_answers_equal_the_pipeline_own(served):
    repo, client = served
    records, expected = holdout(repo)
    assert any(r["bill_length_mm"] is None for r in records)  # nulls travel as nulls
    response = client.post("/predict", json={"records": records})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["model"], body["version"], body["threshold"]) == (MODEL, "1", 0.5)
    got = np.array([[p["probabilities"]["no"], p["probabilities"]["yes"]] for p in body["predictions"]])
    np.testing.assert_allclose(got, expected[["p_no", "p_yes"]].to_numpy(), atol=1e-6)
    assert [p["label"] for p in body["predictions"]] == expected["label"].tolist()


@integration
def test_a_row_of_the_raw_table_is_answered_as_it_is(served):
    """The id, the name and the target ride along; every null, an unseen island, numbers where
    categories go and the boolean's strings are all answered."""
    repo, client = served
    raw = natural(penguin_table().head(3))
    empty = {name: None for name in raw[0] if name not in ("id", "name", TARGET)}
    odd = {**raw[1], "island": "Atlantis", "sex": 3, "tagged": "true"}
    response = client.post("/predict", json={"records": [raw[0], empty, odd, raw[2]]})
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert len(predictions) == 4
    for p in predictions:
        assert p["label"] in ("no", "yes")
        assert math.isclose(sum(p["probabilities"].values()), 1.0, rel_tol=1e-9)
    alone = client.post("/predict", json={"records": [raw[2]]}).json()["predictions"][0]
    assert alone == predictions[3]  # a record's answer does not depend on its neighbours


@integration
def test_threshold_override_flips_labels(served):
    repo, client = served
    records, expected = holdout(repo)
    p1 = expected["p_yes"].to_numpy()
    custom = float(np.median(p1))
    for threshold, positive in ((0.0, np.ones_like(p1, bool)), (1.0, p1 >= 1.0), (custom, p1 >= custom)):
        body = client.post("/predict", json={"records": records, "threshold": threshold}).json()
        assert body["threshold"] == threshold
        labels = np.array([p["label"] for p in body["predictions"]])
        np.testing.assert_array_equal(labels == "yes", positive)
    assert 0 < (p1 >= custom).sum() < len(p1)  # the custom value really splits the batch


@integration
def test_metadata_lists_each_raw_feature_with_its_kind_categories_and_missing_value(served):
    repo, client = served
    got = client.get("/metadata")
    assert got.status_code == 200
    meta = got.json()
    assert client.post("/metadata", json={}).json() == meta
    assert (meta["model"], meta["version"], meta["task"], meta["target"]) == (MODEL, "1", "binary", TARGET)
    assert meta["class_labels"] == ["no", "yes"] and meta["threshold"] == 0.5 and meta["run_id"]
    features = {f["name"]: f for f in meta["features"]}
    assert list(features) == ["island", "sex", *NUMERIC, "tagged"]  # table order
    assert {name: f["kind"] for name, f in features.items()} == {
        "island": "categorical",
        "sex": "categorical",
        "bill_length_mm": "numeric",
        "flipper_length_mm": "numeric",
        "body_mass_g": "numeric",
        "tagged": "boolean",
    }
    assert sorted(features["island"]["categories"]) == ["Biscoe", "Dream", "Torgersen"]
    assert sorted(features["sex"]["categories"]) == ["female", "male"]
    assert features["island"]["missing_becomes"] == "its own category (missing)"
    assert features["island"]["unseen_becomes"] == "the out-of-vocabulary bucket"
    assert sorted(features["tagged"]["categories"]) == ["false", "true"]
    assert features["bill_length_mm"]["missing_becomes"].startswith("the training median ")
    assert features["bill_length_mm"]["missing_becomes"].endswith("and the model is told it was missing")
    assert set(meta["ignored_columns"]) == {"id", "name", TARGET}


@integration
def test_each_kind_and_each_bad_request_gets_a_422_naming_record_field_and_kind(served):
    repo, client = served
    good = holdout(repo)[0][0]
    takes = (
        "unknown feature; the model takes 'island', 'sex', 'bill_length_mm', 'flipper_length_mm', "
        "'body_mass_g', 'tagged' (see /metadata)"
    )
    cases = [
        (
            {"records": [{k: v for k, v in good.items() if k != "sex"}]},
            0,
            "sex",
            "missing; send null for a missing value",
        ),
        ({"records": [good, {**good, "colour": 1}]}, 1, "colour", takes),
        (
            {"records": [{**good, "body_mass_g": "big"}]},
            0,
            "body_mass_g",
            "'big' is not a number (numeric feature)",
        ),
        (
            {"records": [{**good, "body_mass_g": True}]},
            0,
            "body_mass_g",
            "True is not a number (numeric feature)",
        ),
        (
            {"records": [{**good, "body_mass_g": 1e39}]},
            0,
            "body_mass_g",
            "1e+39 is not a finite float32 number (numeric feature)",
        ),
        (
            {"records": [{**good, "tagged": "yes"}]},
            0,
            "tagged",
            "'yes' is not true or false (boolean feature)",
        ),
        (
            {"records": [{**good, "island": {"name": "Dream"}}]},
            0,
            "island",
            "{'name': 'Dream'} is not a category: send text, a number or true/false (categorical feature)",
        ),
        ({"records": []}, None, "records", "must be a non-empty list of records"),
        (
            {"records": [good] * (MAX_RECORDS + 1)},
            None,
            "records",
            f"{MAX_RECORDS + 1} records exceed the maximum of {MAX_RECORDS} per request; split the batch",
        ),
        (
            {"records": [good], "threshold": 1.5},
            None,
            "threshold",
            "1.5 is not a number in [0, 1]; omit it to use the threshold recorded with the model",
        ),
    ]
    for payload, index, field, problem in cases:
        response = client.post("/predict", json=payload)
        assert response.status_code == 422, payload
        assert response.json()["problems"][0] == {"index": index, "field": field, "problem": problem}
        assert "Traceback" not in response.text
    # NaN is not JSON (null is the missing value); a client that sends the literal is refused.
    nan_body = json.dumps({"records": [{**good, "body_mass_g": float("nan")}]})
    assert "NaN" in nan_body
    nan = client.post("/predict", content=nan_body, headers={"content-type": "application/json"})
    assert nan.status_code == 422
    assert nan.json()["problems"] == [
        {
            "index": 0,
            "field": "body_mass_g",
            "problem": "nan is not a finite float32 number (numeric feature)",
        }
    ]
    huge = client.post("/predict", json={"records": [good] * 2000})
    assert huge.status_code == 413
    assert "exceeds the limit of 200000" in huge.json()["error"]

    def chunked():
        yield b'{"records": ['
        for _ in range(2000):
            yield json.dumps(good).encode() + b","
        yield b"]}"

    streamed = client.post("/predict", content=chunked(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    form = client.post("/predict", content=b"--x\r\n", headers={"content-type": "multipart/form-data"})
    assert form.status_code == 415 and "send a JSON body" in form.json()["error"]
    # Numbers at the edge of float32 are taken; an output that overflows is refused, never answered.
    extreme = client.post("/predict", json={"records": [{**good, **dict.fromkeys(NUMERIC, 3.4e38)}, good]})
    assert extreme.status_code in (200, 422), extreme.text
    if extreme.status_code == 422:
        assert extreme.json()["problems"] == [
            {
                "index": 0,
                "field": None,
                "problem": (
                    "the model's output overflowed for this record: its values are far outside the range "
                    "the model was trained on; check their units"
                ),
            }
        ]
    broken = client.post("/predict", content=b'{"records": [', headers={"content-type": "application/json"})
    assert broken.status_code == 400
    assert "Traceback" not in broken.text
    # Still healthy and answering afterwards.
    assert client.get("/readyz").status_code == 200
    assert client.post("/predict", json={"records": [good]}).status_code == 200


@integration
def test_requests_are_not_access_logged_but_failures_are(served):
    repo, client = served
    assert client.post("/predict", json={"records": holdout(repo)[0][:1]}).status_code == 200
    logs = "".join(p.read_text() for p in repo.glob("serve-*.log"))
    assert "path=/predict" not in logs  # BentoML's per-request INFO line is off (ACCESS_LOG unset)


@integration
def test_no_champion_is_refused_at_start_up(served, mlflow_server):
    repo, _ = served
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server, MODEL_NAME="never-trained")
    done = subprocess.run(
        [sys.executable, "-m", "serving", "--port", str(free_port())],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "model 'never-trained' has no 'champion' alias" in done.stderr
    assert "run the pipeline first" in done.stderr


@integration
def test_concurrent_requests_are_all_answered_with_their_own_rows(served):
    """Requests that share a batched model call each get the answer for their own record."""
    repo, client = served
    records, expected = holdout(repo)

    def one(i: int) -> dict:
        return client.post("/predict", json={"records": [records[i]]}).json()["predictions"][0]

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(len(records))))
    got = np.array([a["probabilities"]["yes"] for a in answers])
    np.testing.assert_allclose(got, expected["p_yes"].to_numpy(), atol=1e-6)


@integration
def test_bento_serves_the_champion_without_the_registry(served, mlflow_server, tmp_path):
    repo, client = served
    home = str(tmp_path / "bentoml")
    run_ok(
        [sys.executable, "-m", "serving.bento"],
        repo,
        tool_env(MLFLOW_TRACKING_URI=mlflow_server, MODEL_NAME=MODEL, BENTOML_HOME=home),
    )
    assert not (repo / "serving/packaged_model.json").exists()  # only the Bento has it
    nowhere = tmp_path / "no-registry.db"
    offline = tool_env(MLFLOW_TRACKING_URI=f"sqlite:///{nowhere}", BENTOML_HOME=home)
    records, _ = holdout(repo)
    with serve(["bentoml", "serve", "tabular_model:latest"], tmp_path, offline) as bento:
        packaged = bento.post("/predict", json={"records": records}).json()
        meta = bento.get("/metadata").json()
    assert packaged == client.post("/predict", json={"records": records}).json()
    assert meta == client.get("/metadata").json()
    assert not nowhere.exists()  # the registry was never opened


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_the_service_app_in_process_answers_natural_records(monkeypatch, tmp_path):
    """The real service class and middlewares over a stand-in model: records validated by kind,
    batched as named inputs, answered; GET and POST /metadata; a 422 per kind."""
    from pathlib import Path
    from types import SimpleNamespace

    from starlette.testclient import TestClient

    from pipeline.io import champion
    from serving import service

    contract = Contract(
        features=[
            FeatureSpec(
                "island", CATEGORICAL, "island", categories=["Biscoe", "Dream", ""], encoding="one_hot"
            ),
            FeatureSpec("body mass/g", NUMBER, "body_mass_g", median=4000.0, indicator=True),
            FeatureSpec("tagged", BOOLEAN, "tagged", categories=["false", "true"], encoding="one_hot"),
        ],
        target=TARGET,
        task="binary",
        class_labels=["no", "yes"],
        ignored={TARGET: "the target"},
        threshold=0.5,
    )
    served = champion.ServedModel(
        name=MODEL,
        version="3",
        run_id="abc",
        threshold=0.5,
        contract=contract,
        keras_file=Path("model.keras"),
    )
    seen = []

    def compiled_logits(model):
        def call(inputs):
            seen.append(inputs)
            mass = np.nan_to_num(inputs["body_mass_g"], nan=4000.0)
            return ((mass - 4000) / 1000 + (inputs["island"] == "Biscoe")).astype("float32")

        return call

    monkeypatch.setitem(
        sys.modules,
        "pipeline.ml.model",
        SimpleNamespace(load_model=lambda path: None, compiled_logits=compiled_logits),
    )
    monkeypatch.setattr(champion, "wanted", lambda: (MODEL, None))
    monkeypatch.setattr(champion, "fetch", lambda name, version, into: served)
    monkeypatch.setenv("SERVING_STATE_DIR", str(tmp_path))
    with TestClient(service.TabularModel.to_asgi()) as client:
        records = [
            {"island": "Biscoe", "body mass/g": 5000, "tagged": True, TARGET: "yes"},
            {"island": None, "body mass/g": None, "tagged": None},
            {"island": "Atlantis", "body mass/g": 3000.5, "tagged": "false"},
        ]
        body = client.post("/predict", json={"records": records}).json()
        meta = client.get("/metadata")
        posted = client.post("/metadata", json={})
        refused = client.post(
            "/predict",
            json={"records": [{**records[0], "body mass/g": "heavy", "tagged": "yes", "colour": "red"}]},
        )
        regression_threshold = client.post("/predict", json={"records": records[:1], "threshold": 2})
    assert (body["model"], body["version"], body["threshold"]) == (MODEL, "3", 0.5)
    assert [p["label"] for p in body["predictions"]] == ["yes", "yes", "no"]  # p = 0.5 >= 0.5
    p_yes = [p["probabilities"]["yes"] for p in body["predictions"]]
    np.testing.assert_allclose(p_yes, 1 / (1 + np.exp(-np.array([2.0, 0.0, -0.9995]))), rtol=1e-6)
    assert seen[0]["island"].ravel().tolist() == ["Biscoe", "", "Atlantis"]
    assert seen[0]["tagged"].ravel().tolist() == ["true", "", "false"]
    assert meta.status_code == 200 and meta.json() == posted.json()
    assert meta.json() == {
        "model": MODEL,
        "version": "3",
        "run_id": "abc",
        **contract.describe(),
        "threshold": 0.5,
    }
    assert meta.json()["features"][1]["missing_becomes"] == (
        "the training median 4000 and the model is told it was missing"
    )
    assert refused.status_code == 422
    assert refused.json()["problems"] == [
        {
            "index": 0,
            "field": "colour",
            "problem": "unknown feature; the model takes 'island', 'body mass/g', 'tagged' (see /metadata)",
        },
        {"index": 0, "field": "body mass/g", "problem": "'heavy' is not a number (numeric feature)"},
        {"index": 0, "field": "tagged", "problem": "'yes' is not true or false (boolean feature)"},
    ]
    assert regression_threshold.status_code == 422
