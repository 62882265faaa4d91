"""Batch scoring for real: a file in chunks, the champion's answers beside each row, rejects kept."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_ok, tool_env
from tests.serving.conftest import MODEL, served  # noqa: F401 - the session's served champion

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_is_scored_in_chunks_as_the_service_would(served, mlflow_server, tmp_path, suffix):  # noqa: F811
    repo, client = served
    rows = pd.read_parquet(repo / "data/prepared/holdout.parquet").drop(columns="target")
    broken = rows.astype(object)
    broken.iloc[5, 0] = "oops"
    source = tmp_path / f"new{suffix}"
    broken.to_csv(source, index=False) if suffix == ".csv" else broken.astype(str).to_parquet(source)
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server, MODEL_NAME=MODEL)
    done = run_ok([sys.executable, "-m", "pipeline.predict", str(source), "--chunk-rows", "40"], repo, env)
    assert f"{MODEL} v1: {len(rows) - 1} of {len(rows)} rows scored" in done.stdout
    scored = pd.read_csv(tmp_path / "new.scored.csv") if suffix == ".csv" else \
        pd.read_parquet(tmp_path / "new.scored.parquet")
    rejects = pd.read_csv(tmp_path / "new.rejects.csv")
    assert rejects.to_dict("records") == [
        {"row": 6, "reason": "not a finite float32 number: mean radius='oops'"}]
    kept = rows.drop(index=5).reset_index(drop=True)
    service = client.post("/predict", json={"records": kept.to_dict("records")}).json()["predictions"]
    assert scored["label"].astype(str).tolist() == [str(p["label"]) for p in service]
    np.testing.assert_allclose(scored["p_1"], [p["probabilities"]["1"] for p in service], atol=1e-6)
    np.testing.assert_allclose(scored["mean radius"].astype(float), kept["mean radius"], rtol=1e-9)
