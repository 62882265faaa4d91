"""A real MLflow registry in a SQLite store under tmp_path, and model folders to register in it
(the layout io/model_logging.py logs: artifacts/model.keras and artifacts/contract.json)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mlflow
import pytest

from pipeline.core.contract import CATEGORICAL, NUMERIC, Contract, FeatureSpec

CONTRACT = Contract(
    features=[
        FeatureSpec("bill length", NUMERIC, "bill_length", median=40.0, mean=41.0, variance=25.0),
        FeatureSpec("island", CATEGORICAL, "island", categories=["Biscoe", "Dream"], encoding="one_hot"),
    ],
    target="species",
    task="binary",
    class_labels=["Adelie", "Gentoo"],
    ignored={"species": "the target"},
)


@pytest.fixture(scope="session")
def registry_home(tmp_path_factory) -> Path:
    """One SQLite store for the module's tests (creating one takes seconds): each test
    registers models under its own names."""
    home = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        mlflow.MlflowClient(uri).search_registered_models()  # creates the tables
    return home


@pytest.fixture
def store(registry_home, monkeypatch) -> Path:
    """tracking.configure() (what registry and champion call) reads the shared store."""
    uri = f"sqlite:///{registry_home / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    return registry_home


@pytest.fixture
def name(request) -> str:
    """A registered model name of this test's own."""
    return re.sub(r"[^A-Za-z0-9]+", "-", request.node.name).strip("-")[-60:]


def model_folder(home: Path, name: str, contract: Contract | None = CONTRACT, keras: bool = True) -> Path:
    """A folder as a registered version holds it; the parts left out when asked."""
    folder = home / name
    (folder / "artifacts").mkdir(parents=True)
    if keras:
        (folder / "artifacts" / "model.keras").write_bytes(b"keras bytes of " + name.encode())
    if contract is not None:
        (folder / "artifacts" / "contract.json").write_text(json.dumps(contract.to_dict()))
    return folder
