"""Typed, validated configuration: the shape of params.yaml.

Every knob a user turns in the Keras workflow lives here, so `dvc exp run -S key=value`
reaches it and a wrong value is refused before any work starts.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.core.errors import ParamsError
from pipeline.core.tasks import TaskSetting

# scikit-learn's bundled copies: binary, multi-class (two), regression.
BUNDLED_DATASETS = ("breast_cancer", "wine", "digits", "diabetes")


class _Section(BaseModel):
    # Unknown keys are refused: a typo such as `learning_rat` must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Base(_Section):
    seed: int = Field(0, ge=0)


class Data(_Section):
    path: str = Field(min_length=1)
    target: str = Field(min_length=1)
    task: TaskSetting = "auto"
    # `auto` treats an integer target with at most this many distinct values as classes.
    max_classes: int = Field(20, ge=2)
    # How multi-class labels reach the loss: class indices or one-hot rows.
    label_encoding: Literal["integer", "one_hot"] = "integer"
    # A missing feature value: imputed inside the model (numbers: the training median and a
    # "was missing" flag; categories: a category of its own), or its rows dropped, or refused.
    missing: Literal["impute", "drop", "refuse"] = "impute"
    # Per-column overrides of the kinds prepare decides (integer codes as categories, a column
    # to ignore); every name must be a column of the table.
    categorical: list[str] = Field(default_factory=list)
    numeric: list[str] = Field(default_factory=list)
    drop: list[str] = Field(default_factory=list)
    # A text column with more distinct values than this is free text (a name, a comment): dropped.
    max_categories: int = Field(1000, ge=2)

    @model_validator(mode="after")
    def _one_kind_per_column(self) -> Data:
        lists = {"categorical": self.categorical, "numeric": self.numeric, "drop": self.drop}
        for first, second in (("categorical", "numeric"), ("categorical", "drop"), ("numeric", "drop")):
            both = sorted(set(lists[first]) & set(lists[second]))
            if both:
                raise ValueError(
                    f"column(s) {both} are listed in both data.{first} and data.{second}; "
                    "keep each column in one list"
                )
        if self.target in {*self.categorical, *self.numeric, *self.drop}:
            raise ValueError(
                f"the target {self.target!r} is listed as a feature kind; remove it from "
                "data.categorical / data.numeric / data.drop"
            )
        return self


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
    # The last layer emits logits; anything else is refused with the fix (core/tasks.py).
    output_activation: Literal["linear", "sigmoid", "softmax"] = "linear"
    # A categorical column with more categories than this is embedded (a dense vector learnt
    # per category) rather than one-hot encoded, which would add a weight per category per unit.
    embed_above: int = Field(20, ge=1)
    embedding_dim: int = Field(8, ge=1)

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
    # `auto` derives it from the task and data.label_encoding; a named loss is checked.
    loss: Literal[
        "auto",
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "mse",
        "mae",
    ] = "auto"
    from_logits: bool = True
    top_k: int = Field(3, ge=1)  # multi-class top-k accuracy (capped below the class count)
    # Stop, and fail the run, when the loss ends an epoch this many times above epoch 1's.
    divergence_factor: float = Field(10.0, gt=1)
    # GPUs: float16 compute where a GPU is present (ignored on CPU), and the tf.distribute
    # strategy: one device, all local GPUs, or the workers TF_CONFIG names.
    mixed_precision: bool = False
    distribute: Literal["none", "mirrored", "multi_worker"] = "none"
    # Fast epochs (pipeline/ml/epochs.py). Batches per call into TensorFlow: a small model at a
    # small batch spends its time in per-call overhead, not arithmetic; `auto` runs an epoch in
    # few calls. Callbacks still see every epoch; per-batch hooks see every `steps_per_execution`.
    steps_per_execution: Literal["auto"] | Annotated[int, Field(ge=1)] = "auto"
    # How the training split reaches Keras: held in memory (fastest) or streamed from the parquet
    # file (any size); `auto` holds it when it takes at most `memory_mb` in memory. Same batches
    # in the same order either way.
    input: Literal["auto", "memory", "stream"] = "auto"
    memory_mb: int = Field(1024, ge=1)
    # multi_worker: how long a worker waits on its peers (a dead worker fails the run after it).
    worker_timeout_s: int = Field(300, ge=5)
    checkpoint: Checkpoint = Checkpoint()
    early_stopping: EarlyStopping = EarlyStopping()
    reduce_lr: ReduceLROnPlateau = ReduceLROnPlateau()


class Evaluate(_Section):
    # Binary only: how the decision threshold is chosen on the validation split.
    threshold_policy: Literal["fixed", "max_f1", "target_precision", "target_recall"] = "fixed"
    threshold: float = Field(0.5, ge=0, le=1)  # the `fixed` policy's value
    target: float = Field(0.9, gt=0, le=1)  # the target_precision / target_recall policies' goal


class Register(_Section):
    model_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    # `auto`: roc_auc (binary), macro_f1 (multi-class), r2 (regression); see core/metrics.py.
    metric: str = "auto"
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


# Train settings that change how fast training runs, never its result.
SPEED_SETTINGS = frozenset({"steps_per_execution", "input", "memory_mb", "worker_timeout_s"})


def fingerprint(params: Params, data_hash: str) -> str:
    """What a training run depends on, hashed: a backup is resumed only by the same one."""
    relevant = {
        "seed": params.base.seed,
        "data": data_hash,
        "label_encoding": params.data.label_encoding,
        "model": params.model.model_dump(mode="json"),
        # How fast the epochs run, not what they compute: a resume may change them.
        "train": params.train.model_dump(mode="json", exclude={"epochs", *SPEED_SETTINGS}),
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:12]
