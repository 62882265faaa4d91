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
    # Fit scikit-learn's HistGradientBoosting on the same training split and score the same
    # holdout (`baseline_<metric>`): how much the network is worth, in every run.
    baseline: bool = True


class Register(_Section):
    model_name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    # `auto`: roc_auc (binary), macro_f1 (multi-class), r2 (regression); see core/metrics.py.
    metric: str = "auto"
    min_improvement: float = Field(0.0, ge=0)
    # Also refuse promotion when the network trails the baseline (it must beat or match it:
    # within one holdout error, or 0.01 of R²). Needs evaluate.baseline.
    require_beat_baseline: bool = False


class Mlflow(_Section):
    experiment: str = Field(min_length=1)


class Monitoring(_Section):
    """The request log's folder and the drift check's thresholds (core/drift.py says why)."""

    request_log: str = Field("logs/requests", min_length=1)  # the service's REQUEST_LOG_DIR
    experiment: str = Field("keras-tabular-monitoring", min_length=1)
    alpha: float = Field(0.001, gt=0, lt=0.5)  # chance of a false alarm per check
    numeric_floor: float = Field(0.1, ge=0)  # Wasserstein distance / training sd
    categorical_floor: float = Field(0.1, ge=0, le=1)  # Jensen-Shannon distance, base 2
    missing_floor: float = Field(0.1, ge=0, le=1)  # change of a column's missing share
    unseen_floor: float = Field(0.05, ge=0, le=1)  # share of categories training never saw
    worst_features: int = Field(4, ge=1)  # drawn side by side in the drift figure


class Retrain(_Section):
    # always: every run; drift: only when the request log drifted from the training split;
    # new_data: only when the table at data.path differs from the one the champion learnt from.
    policy: Literal["always", "drift", "new_data"] = "always"


# The diagnosis judges a trend only from this many epochs on (core/diagnosis.py's
# MIN_EPOCHS_TO_JUDGE; a test keeps the two equal): a shorter learning-rate fit says nothing.
LR_FIND_MIN_EPOCHS = 5


class LrFind(_Section):
    """`make lr-find`: a short fit per rate of a ladder, each curve read with the diagnosis."""

    min_lr: float = Field(1e-5, gt=0)
    max_lr: float = Field(1e-1, gt=0, le=10)
    rates_per_decade: int = Field(1, ge=1, le=10)  # 1: 1e-5, 1e-4, ... 1e-1
    epochs: int = Field(8, ge=LR_FIND_MIN_EPOCHS)  # per rate
    budget_s: float = Field(600.0, gt=0)  # all fits together; rates not reached are reported

    @model_validator(mode="after")
    def _a_ladder(self) -> LrFind:
        if self.min_lr >= self.max_lr:
            raise ValueError(f"min_lr {self.min_lr:g} must lie below max_lr {self.max_lr:g}")
        return self


class LogRange(_Section):
    """A positive range searched on a log scale (a learning rate)."""

    low: float = Field(gt=0)
    high: float = Field(gt=0, le=10)

    @model_validator(mode="after")
    def _ordered(self) -> LogRange:
        if self.low >= self.high:
            raise ValueError(f"low {self.low:g} must lie below high {self.high:g}")
        return self


class DropoutRange(_Section):
    low: float = Field(ge=0, lt=1)
    high: float = Field(ge=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> DropoutRange:
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} must not lie above high {self.high:g}")
        return self


Optimizer = Literal["adam", "sgd"]
OPTIMIZERS: tuple[Optimizer, ...] = ("adam", "sgd")


class SearchSpace(_Section):
    """What `make tune` may change; each value lands in its train/model param."""

    learning_rate: LogRange = LogRange(low=1e-4, high=3e-2)
    optimizer: list[Optimizer] = Field(default_factory=lambda: list(OPTIMIZERS), min_length=1)
    batch_size: list[int] = Field(default_factory=lambda: [16, 32, 64], min_length=1)
    hidden_units: list[list[int]] = Field(
        default_factory=lambda: [[32, 16], [64, 32], [128, 64], [64]], min_length=1
    )
    dropout: DropoutRange = DropoutRange(low=0.0, high=0.3)

    @model_validator(mode="after")
    def _positive_sizes(self) -> SearchSpace:
        if any(size < 1 for size in self.batch_size):
            raise ValueError(f"batch_size choices must all be >= 1, got {self.batch_size}")
        bad = [units for units in self.hidden_units if not units or any(u < 1 for u in units)]
        if bad:
            raise ValueError(f"hidden_units choices must be non-empty lists of widths >= 1, got {bad}")
        for name in ("optimizer", "batch_size"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} choices repeat a value: {values}")
        keys = [tuple(units) for units in self.hidden_units]
        if len(set(keys)) != len(keys):
            raise ValueError(f"hidden_units choices repeat a value: {self.hidden_units}")
        return self


class Tune(_Section):
    """`make tune`: an Optuna search (seeded TPE, a pruner fed after each epoch)."""

    n_trials: int = Field(30, ge=1)  # for the study, all processes together
    timeout_s: float = Field(900.0, gt=0)  # per process
    epochs: int = Field(40, ge=1)  # per trial, under train.early_stopping
    # Trials drawn at random (seeded) before TPE models the results.
    startup_trials: int = Field(8, ge=1)
    pruner: Literal["median", "successive_halving", "none"] = "median"
    pruner_startup_trials: int = Field(4, ge=0)  # median: complete trials before any pruning
    pruner_warmup_epochs: int = Field(4, ge=0)  # median: epochs of a trial never pruned
    # The study's file (Optuna's journal), beside the tracking store: several `make tune`
    # processes share it and split the trials.
    storage: str = Field("optuna.journal", min_length=1)
    write_params: bool = True  # the best configuration into params.yaml, for `dvc repro`
    space: SearchSpace = SearchSpace()


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
    monitoring: Monitoring = Monitoring()
    retrain: Retrain = Retrain()
    # The commands that choose params, not params of a run: left out of a run's dump (the
    # train stage logs every other param on its MLflow run).
    lr_find: LrFind = Field(default_factory=LrFind, exclude=True)
    tune: Tune = Field(default_factory=Tune, exclude=True)

    @model_validator(mode="after")
    def _baseline_to_beat(self) -> Params:
        if self.registry.require_beat_baseline and not self.evaluate.baseline:
            raise ValueError(
                "register.require_beat_baseline = true needs the baseline that evaluate.baseline = false "
                "turns off; set evaluate.baseline: true, or register.require_beat_baseline: false"
            )
        return self


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
