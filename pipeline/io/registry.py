"""The MLflow Model Registry: versions, the `champion` alias, and lineage tags."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from pipeline.io.tracking import configure

CHAMPION = "champion"
# Where the Keras flavour keeps the `.keras` file inside a logged model.
KERAS_FILE = Path("data/model.keras")


def _client() -> mlflow.MlflowClient:
    configure()
    return mlflow.MlflowClient()


def register(model_uri: str, name: str, tags: Mapping[str, Any]) -> ModelVersion:
    return mlflow.register_model(
        model_uri, name, tags={key: str(value) for key, value in tags.items()}
    )


def champion(name: str) -> ModelVersion | None:
    """The version the alias points at, or None when there is none (or no model yet).

    Read with `get_model_version_by_alias`: `search_model_versions` may return empty aliases.
    """
    return _or_none(lambda: _client().get_model_version_by_alias(name, CHAMPION))


def version(name: str, number: str) -> ModelVersion | None:
    return _or_none(lambda: _client().get_model_version(name, number))


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


def download_keras_file(name: str, version: str, into: str | Path) -> Path:
    """Fetch a version's artifacts and return the path of its `.keras` file."""
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{name}/{version}", dst_path=str(into)
    )
    return Path(local) / KERAS_FILE

