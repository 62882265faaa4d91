"""Everything the service needs about the model it serves, fetched from the registry once."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion

from pipeline.core.contract import Contract
from pipeline.core.errors import PipelineError
from pipeline.core.tasks import BINARY
from pipeline.io import registry
from pipeline.io.params import load_params
from pipeline.io.settings import settings
from pipeline.io.tracking import shown_uri

# A packaged copy (`make bento`): the model file and what the registry said about it.
PACKAGED_MODEL, PACKAGED_FACTS = "model.keras", "served.json"


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    run_id: str | None  # None: a version registered from files, without an MLflow run
    threshold: float | None  # binary models only; also in contract.threshold
    contract: Contract  # the raw columns it takes, their kinds, its task and labels
    keras_file: Path


def wanted() -> tuple[str, str | None]:
    """(model name, version or None for the champion) from MODEL_NAME / MODEL_VERSION.

    The name defaults to `register.model_name` in params.yaml: what the pipeline registers.
    """
    chosen = settings()
    return chosen.model_name or load_params().registry.model_name, chosen.model_version


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
    """The champion (or version `number`): its `.keras` file and contract, downloaded once
    into `into`, and the threshold recorded with it (the contract's; a binary version's tag
    when the contract has none)."""
    found = resolve(name, number)
    keras_file, contract = registry.download_model(name, str(found.version), into)
    threshold = contract.threshold
    if contract.task == BINARY and threshold is None:
        threshold = registry.recorded_threshold(found)
    return ServedModel(
        name=name,
        version=str(found.version),
        run_id=found.run_id,
        threshold=threshold,
        contract=contract.with_threshold(threshold),
        keras_file=keras_file,
    )


def package(served: ServedModel, folder: str | Path) -> None:
    """Copy the model, its contract and its registry facts into `folder`, to be served with
    no registry."""
    folder = Path(folder)
    shutil.copyfile(served.keras_file, folder / PACKAGED_MODEL)
    facts = {
        "name": served.name,
        "version": served.version,
        "run_id": served.run_id,
        "threshold": served.threshold,
        "contract": served.contract.to_dict(),
    }
    (folder / PACKAGED_FACTS).write_text(json.dumps(facts, indent=2))


def unpack(folder: str | Path) -> ServedModel:
    """The ServedModel that `package` wrote: what a Bento serves, the registry out of reach."""
    folder = Path(folder)
    facts = json.loads((folder / PACKAGED_FACTS).read_text())
    if "contract" not in facts:
        raise PipelineError(
            f"{folder / PACKAGED_FACTS} has no contract: the Bento was built before models took raw "
            "rows. Fix: build it again (`make bento`)."
        )
    return ServedModel(
        name=facts["name"],
        version=facts["version"],
        run_id=facts["run_id"],
        threshold=facts["threshold"],
        contract=Contract.from_dict(facts["contract"]),
        keras_file=folder / PACKAGED_MODEL,
    )
