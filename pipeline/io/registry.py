"""The MLflow Model Registry: versions, the `champion` alias, and lineage tags."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from pipeline.core.contract import Contract
from pipeline.core.errors import PipelineError
from pipeline.io.tracking import configure

CHAMPION = "champion"
# A registered version is the pyfunc model io/model_logging.py logs: its artifacts, under
# these keys, are the Keras file and the contract (with the threshold recorded at
# registration). MLflow copies artifacts into `artifacts/<key>` inside the model's folder.
KERAS_ARTIFACT, CONTRACT_ARTIFACT = "model.keras", "contract.json"
KERAS_FILE = Path("artifacts") / KERAS_ARTIFACT
CONTRACT_FILE = Path("artifacts") / CONTRACT_ARTIFACT


def _client() -> mlflow.MlflowClient:
    configure()
    return mlflow.MlflowClient()


def register(model_uri: str, name: str, tags: Mapping[str, Any]) -> ModelVersion:
    return mlflow.register_model(model_uri, name, tags={key: str(value) for key, value in tags.items()})


def champion(name: str) -> ModelVersion | None:
    """The version the alias points at, or None when there is none (or no model yet).

    Read with `get_model_version_by_alias`: `search_model_versions` may return empty aliases.
    """
    return _or_none(lambda: _client().get_model_version_by_alias(name, CHAMPION))


def version(name: str, number: str) -> ModelVersion | None:
    return _or_none(lambda: _client().get_model_version(name, number))


def latest_version(name: str) -> ModelVersion | None:
    """The highest-numbered version of `name`, or None when it has none."""
    versions: list[ModelVersion] = list(_client().search_model_versions(f"name='{name}'"))
    return max(versions, key=lambda v: int(v.version)) if versions else None


def _or_none(lookup: Callable[[], ModelVersion]) -> ModelVersion | None:
    """A registry lookup, with "no such model, version or alias" as None."""
    try:
        return lookup()
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            return None
        raise


def recorded_threshold(found: ModelVersion) -> float | None:
    """The decision threshold register recorded with a version; None for tasks without one.

    A binary version that predates the tag gets 0.5, the threshold it was evaluated at.
    """
    if found.tags.get("task", "binary") != "binary":
        return None
    recorded = found.tags.get("threshold")
    return 0.5 if recorded in (None, "", "None") else float(recorded)


def set_champion(name: str, version: str) -> None:
    _client().set_registered_model_alias(name, CHAMPION, version)


def tag_version(name: str, version: str, tags: Mapping[str, Any]) -> None:
    client = _client()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, str(value))


def download_model(name: str, version: str, into: str | Path) -> tuple[Path, Contract]:
    """Fetch a version into `into`: (the path of its `.keras` file, its contract)."""
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(into))
    )
    if not (local / CONTRACT_FILE).is_file() or not (local / KERAS_FILE).is_file():
        raise PipelineError(
            f"model {name!r} version {version} has no {CONTRACT_FILE} and {KERAS_FILE}: it was "
            "registered before models took raw rows. Fix: run the pipeline again (`make run`) to "
            "register a current model, or serve another version (MODEL_VERSION)."
        )
    return local / KERAS_FILE, Contract.from_dict(json.loads((local / CONTRACT_FILE).read_text()))


def version_artifact(name: str, number: str, artifact: str, into: str | Path) -> Path | None:
    """A file the run behind version `number` logged (e.g. "eval/predictions.parquet"), fetched
    into `into`; None when there is no such version, run or file (a version logged before it)."""
    found = version(name, number)
    run_id = found and (found.tags.get("run_id") or found.run_id)
    if not run_id:
        return None
    try:
        return Path(
            mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact, dst_path=str(into))
        )
    except (MlflowException, OSError):
        return None
