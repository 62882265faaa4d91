"""Everything the service needs about the model it serves, fetched from the registry once."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.entities.model_registry import ModelVersion

from pipeline.core.errors import PipelineError
from pipeline.core.schema import Schema
from pipeline.io import registry
from pipeline.io.params import load_params
from pipeline.io.tracking import shown_uri

# Where train logs the schema inside its run (see stages/train.py).
SCHEMA_ARTIFACT = "data/schema.json"
# A packaged copy (`make bento`): the model file and what the registry said about it.
PACKAGED_MODEL, PACKAGED_FACTS = "model.keras", "served.json"


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    run_id: str
    threshold: float | None  # binary models only
    schema: Schema
    keras_file: Path


def wanted() -> tuple[str, str | None]:
    """(model name, version or None for the champion) from MODEL_NAME / MODEL_VERSION.

    The name defaults to `register.model_name` in params.yaml: what the pipeline registers.
    """
    name = os.environ.get("MODEL_NAME") or load_params().registry.model_name
    return name, os.environ.get("MODEL_VERSION") or None


def resolve(name: str, number: str | None) -> ModelVersion:
    found = registry.champion(name) if number is None else registry.version(name, number)
    if found is None:
        what = f"no version {number}" if number else f"no {registry.CHAMPION!r} alias"
        raise PipelineError(
            f"model {name!r} has {what} in the registry at {shown_uri()!r}. "
            "Fix: run the pipeline first (`make run`), or point MLFLOW_TRACKING_URI at the "
            "registry that holds it."
        )
    return found


def fetch(name: str, number: str | None, into: str | Path) -> ServedModel:
    """The champion (or version `number`), its `.keras` file, schema and recorded threshold."""
    found = resolve(name, number)
    schema_file = mlflow.artifacts.download_artifacts(
        run_id=found.run_id, artifact_path=SCHEMA_ARTIFACT, dst_path=str(into))
    return ServedModel(
        name=name,
        version=str(found.version),
        run_id=found.run_id,
        threshold=registry.recorded_threshold(found),
        schema=Schema.from_dict(json.loads(Path(schema_file).read_text())),
        keras_file=registry.download_keras_file(name, found.version, into),
    )


def package(served: ServedModel, folder: str | Path) -> None:
    """Copy the model and its registry facts into `folder`, to be served with no registry."""
    folder = Path(folder)
    shutil.copyfile(served.keras_file, folder / PACKAGED_MODEL)
    facts = {"name": served.name, "version": served.version, "run_id": served.run_id,
             "threshold": served.threshold, "schema": served.schema.to_dict()}
    (folder / PACKAGED_FACTS).write_text(json.dumps(facts, indent=2))


def unpack(folder: str | Path) -> ServedModel:
    """The ServedModel that `package` wrote: what a Bento serves, the registry out of reach."""
    folder = Path(folder)
    facts = json.loads((folder / PACKAGED_FACTS).read_text())
    return ServedModel(name=facts["name"], version=facts["version"], run_id=facts["run_id"],
                       threshold=facts["threshold"], schema=Schema.from_dict(facts["schema"]),
                       keras_file=folder / PACKAGED_MODEL)
