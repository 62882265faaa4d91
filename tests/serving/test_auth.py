"""Bearer-token auth on /predict (PREDICT_TOKEN) and on reload (ADMIN_TOKEN), for real."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import serve, tool_env
from tests.serving.conftest import MODEL, holdout

pytestmark = pytest.mark.integration

PREDICT_TOKEN = "predict-token-for-tests"


def test_predict_needs_the_token_when_one_is_set_and_other_endpoints_stay_open(served, mlflow_server):
    repo, _ = served
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server, MODEL_NAME=MODEL, PREDICT_TOKEN=PREDICT_TOKEN)
    body = {"records": holdout(repo)[0][:1]}
    with serve([sys.executable, "-m", "serving"], repo, env) as client:
        missing = client.post("/predict", json=body)
        wrong = client.post("/predict", json=body, headers={"authorization": "Bearer nope"})
        right = client.post("/predict", json=body, headers={"authorization": f"Bearer {PREDICT_TOKEN}"})
        metadata = client.post("/metadata", json={})
        reload = client.post("/admin/reload", json={}, headers={"authorization": f"Bearer {PREDICT_TOKEN}"})
        ready = client.get("/readyz")
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.json() == {"error": "missing or wrong bearer token"}
    assert missing.headers["www-authenticate"] == "Bearer"
    assert right.json()["version"] == "1"
    assert (metadata.status_code, ready.status_code) == (200, 200)
    assert reload.status_code == 403  # no ADMIN_TOKEN: reload is off, whatever token is sent
    assert "reload is disabled" in reload.json()["error"]
    logs = "".join(p.read_text() for p in repo.glob("serve-*.log"))
    assert PREDICT_TOKEN not in logs
