"""Typed, validated configuration: the shape of params.yaml.

Every knob a user turns in the Keras workflow lives here, so `dvc exp run -S key=value`
reaches it and a wrong value is refused before any work starts.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.core.errors import ParamsError

# Binary tasks only for now (see core/tasks.py); the other bundled sets need multi-class
# and regression support first.
BUNDLED_DATASETS = ("breast_cancer",)
DECISIVE_METRICS = ("loss", "accuracy", "precision", "recall", "f1", "roc_auc")


class _Section(BaseModel):
    # Unknown keys are refused: a typo such as `learning_rat` must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Base(_Section):
    seed: int = Field(0, ge=0)


class Data(_Section):
    path: str = Field(min_length=1)
    target: str = Field(min_length=1)


class Fetch(_Section):
    dataset: Literal[BUNDLED_DATASETS] = "breast_cancer"  # type: ignore[valid-type]


class Prepare(_Section):
    val_size: float = Field(0.15, gt=0, lt=1)
    holdout_size: float = Field(0.2, gt=0, lt=1)

    @model_validator(mode="after")
    def _leaves_training_rows(self) -> Prepare:
        if self.val_size + self.holdout_size >= 0.9:
            raise ValueError(
                f"val_size + holdout_size = {self.val_size + self.holdout_size:g} leaves "
                "too little to train on; keep their sum below 0.9"
            )
        return self


class Model(_Section):
    hidden_units: list[int] = Field(default_factory=lambda: [32, 16], min_length=1)
    activation: Literal["relu", "gelu", "selu", "elu", "tanh", "swish"] = "relu"
    dropout: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _positive_units(self) -> Model:
        bad = [u for u in self.hidden_units if u < 1]
        if bad:
            raise ValueError(f"hidden_units must all be >= 1, got {self.hidden_units}")
        return self


Mode = Literal["min", "max"]


class Checkpoint(_Section):
    monitor: str = "val_loss"
    mode: Mode = "min"


class EarlyStopping(_Section):
    monitor: str = "val_loss"
    mode: Mode = "min"
    patience: int = Field(15, ge=0)
    min_delta: float = Field(0.0, ge=0)
    restore_best_weights: bool = True


class ReduceLROnPlateau(_Section):
    monitor: str = "val_loss"
    mode: Mode = "min"
    patience: int = Field(5, ge=0)
    factor: float = Field(0.5, gt=0, lt=1)
    min_lr: float = Field(1e-5, ge=0)


class Train(_Section):
    epochs: int = Field(200, ge=1)
    batch_size: int = Field(32, ge=1)
    optimizer: Literal["adam", "sgd"] = "adam"
    learning_rate: float = Field(1e-3, gt=0, le=10)
    momentum: float = Field(0.9, ge=0, lt=1)  # sgd only
    checkpoint: Checkpoint = Checkpoint()
    early_stopping: EarlyStopping = EarlyStopping()
    reduce_lr: ReduceLROnPlateau = ReduceLROnPlateau()


class Evaluate(_Section):
    threshold_policy: Literal["fixed", "max_f1"] = "fixed"
    threshold: float = Field(0.5, ge=0, le=1)  # used by the `fixed` policy


class Register(_Section):
    model_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    metric: Literal[DECISIVE_METRICS] = "roc_auc"  # type: ignore[valid-type]
    min_improvement: float = Field(0.0, ge=0)


class Mlflow(_Section):
    experiment: str = Field(min_length=1)


class Params(_Section):
    base: Base = Base()
    data: Data
    fetch: Fetch = Fetch()
    prepare: Prepare = Prepare()
    model: Model = Model()
    train: Train = Train()
    evaluate: Evaluate = Evaluate()
    # `register` would shadow BaseModel.register; the YAML key stays `register`.
    registry: Register = Field(alias="register")
    mlflow: Mlflow


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate a parsed params mapping; every problem is reported with its key and fix."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        raise ParamsError(_describe(exc, source)) from None


def _describe(exc: ValidationError, source: str) -> str:
    lines = [f"{source} has {exc.error_count()} invalid value(s):"]
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "(top level)"
        if err["type"] == "missing":
            lines.append(f"  - {key}: missing. Fix: add it to {source}.")
        elif err["type"] == "extra_forbidden":
            lines.append(f"  - {key}: unknown key. Fix: remove it or correct its spelling.")
        else:
            message = err["msg"].removeprefix("Value error, ")
            lines.append(
                f"  - {key} = {err.get('input')!r}: {message}. Fix: set a valid value in "
                f"{source} or with `dvc exp run -S {key}=<value>`."
            )
    return "\n".join(lines)


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"train": {"lr": 1}}` -> `{"train.lr": 1}`: the keys MLflow params and DVC share."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
