"""Logging the model MLflow consumers load: a pyfunc model from code, no pickles.

What is logged into the active run (one LoggedModel named "model"):
- the code: `pipeline/ml/pyfunc_model.py` (MLflow's models-from-code) and a copy of the
  `pipeline` package (`code_paths`), so `import pipeline` works wherever MLflow loads it;
- the artifacts: the `.keras` file (opened with safe_mode) and the contract, with the
  threshold recorded at registration (io/registry.py names their place);
- a column-based signature: one column per raw feature, required; the columns the model
  ignores (the target, dropped columns) optional; the outputs by name;
- explicit pip requirements, so MLflow does not spend seconds inferring them.

Why the input columns are typed `Any`: MLflow enforces a column type on the pandas dtype, not
on the values. `double` refuses an int64 column (what `pd.read_csv` makes of a column of whole
numbers, such as a year) unless every value is 0 or 1; `string` refuses a bool column and an
int64 column of category codes. A natural frame of the training table would be refused by
dtype, with a message that does not name the value. So MLflow checks names and presence, and
the model checks every value by its kind (core/frames.py), naming column, row and value. The
kinds are in the model's metadata (`features`) and in its contract.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from importlib import metadata
from pathlib import Path

import mlflow
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, DataType, Schema, TensorSpec

from pipeline.core.contract import Contract
from pipeline.core.frames import LABEL, answer_columns
from pipeline.core.tasks import REGRESSION
from pipeline.io.registry import CONTRACT_ARTIFACT, KERAS_ARTIFACT

MODEL_NAME_IN_RUN = "model"
PACKAGE = Path(__file__).resolve().parents[1]  # the `pipeline` package, shipped with the model
# The models-from-code script, named by path: io must not import ml (it imports TensorFlow).
SCRIPT = PACKAGE / "ml" / "pyfunc_model.py"
# What the model needs where MLflow loads it: `mlflow models serve --env-manager virtualenv`
# and `mlflow.pyfunc.get_model_dependencies` install these.
REQUIRED = ("mlflow", "keras", "tensorflow-cpu", "tensorflow", "numpy", "pandas", "pyarrow", "pydantic")


def signature(contract: Contract) -> ModelSignature:
    """One input column per raw feature (required) and per ignored column (optional), all
    `Any` (see the module's docstring); outputs `label` + `p_<label>` per class, or `value`."""
    inputs: list[ColSpec | TensorSpec] = [
        ColSpec(AnyType(), f.name, required=True) for f in contract.features
    ]
    inputs += [
        ColSpec(AnyType(), name, required=False) for name in contract.ignored if name not in contract.names
    ]
    outputs: list[ColSpec | TensorSpec]
    if contract.task == REGRESSION:
        outputs = [ColSpec(DataType.double, name) for name in answer_columns(contract)]
    else:
        label, *probabilities = answer_columns(contract)
        outputs = [
            ColSpec(_label_type(contract.class_labels), LABEL),
            *(ColSpec(DataType.double, name) for name in probabilities),
        ]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def _label_type(labels: list) -> DataType:
    if all(isinstance(label, bool) for label in labels):
        return DataType.boolean
    if all(isinstance(label, int) and not isinstance(label, bool) for label in labels):
        return DataType.long
    return DataType.string


def requirements() -> list[str]:
    """Exact pins of what the model imports, as installed here."""
    pins = []
    for package in REQUIRED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            pins.append(f"{package}=={metadata.version(package)}")
    return pins


def log_pyfunc_model(keras_file: str | Path, contract: Contract) -> str:
    """Log the model into the active run; return its `models:/<model id>` URI.

    `contract` is written as the model's `contract.json` as it is: give it the threshold
    first (`contract.with_threshold(...)`) for a binary model.
    """
    if mlflow.active_run() is None:
        raise RuntimeError("log_pyfunc_model needs an active MLflow run (tracking.reopen_run)")
    with tempfile.TemporaryDirectory(prefix="contract-") as folder:
        contract_file = Path(folder) / CONTRACT_ARTIFACT
        contract_file.write_text(json.dumps(contract.to_dict(), indent=2))
        info = mlflow.pyfunc.log_model(
            name=MODEL_NAME_IN_RUN,
            python_model=str(SCRIPT),
            artifacts={KERAS_ARTIFACT: str(keras_file), CONTRACT_ARTIFACT: str(contract_file)},
            code_paths=[str(PACKAGE)],
            signature=signature(contract),
            pip_requirements=requirements(),
            metadata={
                "task": contract.task,
                "target": contract.target,
                "class_labels": [str(label) for label in contract.class_labels],
                "threshold": contract.threshold,
                "features": {f.name: f.kind for f in contract.features},
            },
        )
    return info.model_uri
