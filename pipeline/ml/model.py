"""The Keras model: raw named columns in (imputed, looked up and normalised inside), logits out."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import keras
import numpy as np
from keras import ops

from pipeline.core.config import Model as ModelParams
from pipeline.core.config import Train as TrainParams
from pipeline.core.contract import EMBEDDING, Contract
from pipeline.core.errors import PipelineError
from pipeline.core.stats import Moments
from pipeline.core.tasks import BINARY, MULTICLASS, REGRESSION, LossSpec

Inputs = Mapping[str, np.ndarray]  # input name -> (rows, 1): core/rows.py makes them


def devices() -> str:
    """The accelerators TensorFlow sees, or CPU: recorded on the run, printed by train."""
    import tensorflow as tf

    return ", ".join(gpu.name for gpu in tf.config.list_physical_devices("GPU")) or "CPU"


def distribution(kind: str):
    """The tf.distribute strategy params ask for; `none` is TensorFlow's default (one device).

    `mirrored` copies the model to every local GPU (or the CPU); `multi_worker` spans the
    hosts TF_CONFIG names (the caller checks that it is set).
    """
    import tensorflow as tf

    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if kind == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def use_mixed_precision(wanted: bool) -> bool:
    """float16 compute with float32 variables, only where a GPU makes it pay (slower on CPU)."""
    import tensorflow as tf

    enabled = wanted and bool(tf.config.list_physical_devices("GPU"))
    keras.mixed_precision.set_global_policy("mixed_float16" if enabled else "float32")
    return enabled


def seed_everything(seed: int) -> None:
    """Python, NumPy and TensorFlow seeds at once: the same params give the same model."""
    keras.utils.set_random_seed(seed)


def build_model(
    contract: Contract, spec: LossSpec, params: ModelParams, target: Moments | None = None
) -> keras.Model:
    """An MLP over the raw columns, its preprocessing inside: raw named columns in, logits out.

    Numbers: a missing value (NaN) becomes the training median, and, for a column that was
    missing in training, a 0/1 "was missing" input beside it; then normalised with the
    training mean and variance. Categories: looked up in the training vocabulary ("" is the
    missing category, anything unseen the out-of-vocabulary bucket), one-hot encoded, or
    embedded when there are more than `model.embed_above` of them. Everything comes from
    the training split (`core/stats.py`) and lives in the `.keras` file, so every consumer
    sends raw rows and none can drift from what training saw. The imputation is written
    with `keras.ops`, which Keras saves in the model's config (safe_mode loads it: no
    Lambda, no custom code). The last layer has no activation: logits. For a regression a
    last rescaling puts a unit-scale output into the target's own units.
    """
    inputs = {
        f.input: keras.Input(shape=(1,), name=f.input, dtype="float32" if f.is_numeric else "string")
        for f in contract.features
    }
    parts = []
    numeric = [f for f in contract.features if f.is_numeric]
    if numeric:
        values = [inputs[f.input] for f in numeric]
        x = keras.layers.Concatenate(name="numeric")(values) if len(values) > 1 else values[0]
        missing = ops.isnan(x)
        x = ops.where(missing, np.asarray([f.median for f in numeric], dtype="float32"), x)
        parts.append(
            keras.layers.Normalization(
                mean=[f.mean for f in numeric], variance=[f.variance for f in numeric], name="normalize"
            )(x)
        )
        flagged = [i for i, f in enumerate(numeric) if f.indicator]
        if flagged:
            parts.append(ops.cast(ops.take(missing, np.asarray(flagged, dtype="int32"), axis=1), "float32"))
    for i, feature in enumerate(f for f in contract.features if not f.is_numeric):
        embed = feature.encoding == EMBEDDING
        lookup = keras.layers.StringLookup(
            vocabulary=feature.categories,
            num_oov_indices=1,
            output_mode="int" if embed else "one_hot",
            name=f"lookup_{i}",
        )
        code = lookup(inputs[feature.input])
        if embed:
            vectors = keras.layers.Embedding(
                len(feature.categories) + 1, params.embedding_dim, name=f"embed_{i}"
            )(code)
            code = keras.layers.Flatten(name=f"flat_{i}")(vectors)
        parts.append(code)
    hidden = keras.layers.Concatenate(name="features")(parts) if len(parts) > 1 else parts[0]
    for i, units in enumerate(params.hidden_units, start=1):
        hidden = keras.layers.Dense(units, activation=params.activation, name=f"dense_{i}")(hidden)
        if params.dropout > 0:
            hidden = keras.layers.Dropout(params.dropout, name=f"dropout_{i}")(hidden)
    # float32 logits even under mixed precision: the loss needs their full range.
    outputs = keras.layers.Dense(spec.output_units, name="logits", dtype="float32")(hidden)
    if spec.task == REGRESSION and target is not None:
        spread = float(np.sqrt(target.variance[0])) or 1.0
        outputs = keras.layers.Rescaling(scale=spread, offset=float(target.mean[0]), name="target_units")(
            outputs
        )
    return keras.Model(inputs, outputs, name="tabular_mlp")


def compile_model(
    model: keras.Model, spec: LossSpec, params: TrainParams, steps_per_execution: int = 1
) -> None:
    """`steps_per_execution`: batches per call into TensorFlow (core/epochs.py decides it)."""
    if params.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(params.learning_rate, momentum=params.momentum)
    else:
        optimizer = keras.optimizers.Adam(params.learning_rate)
    loss = getattr(keras.losses, spec.loss)
    loss = loss(from_logits=spec.from_logits) if spec.task != REGRESSION else loss()
    model.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=[_metric(n, spec) for n in spec.metrics],
        steps_per_execution=steps_per_execution,
    )


def _metric(name: str, spec: LossSpec) -> keras.metrics.Metric:
    """Keras metrics that read logits (a logit of 0 is a probability of 0.5), named as in params."""
    if spec.task == BINARY:
        binary = {
            "accuracy": lambda: keras.metrics.BinaryAccuracy(name=name, threshold=0.0),
            "precision": lambda: keras.metrics.Precision(name=name, thresholds=0.0),
            "recall": lambda: keras.metrics.Recall(name=name, thresholds=0.0),
            "auc": lambda: keras.metrics.AUC(name=name, from_logits=True),
        }
        return binary[name]()
    if spec.task == MULTICLASS:
        # Accuracy and top-k compare ranks, which logits and probabilities share.
        if name == "accuracy":
            if spec.one_hot:
                return keras.metrics.CategoricalAccuracy(name=name)
            return keras.metrics.SparseCategoricalAccuracy(name=name)
        if spec.one_hot:
            return keras.metrics.TopKCategoricalAccuracy(k=spec.top_k, name=name)
        return keras.metrics.SparseTopKCategoricalAccuracy(k=spec.top_k, name=name)
    regression = {"mae": keras.metrics.MeanAbsoluteError, "rmse": keras.metrics.RootMeanSquaredError}
    return regression[name](name=name)


def load_model(path: str | Path) -> keras.Model:
    """Load a `.keras` file with safe_mode: no arbitrary code (Lambda layers) is run.

    Anything else is refused: HDF5 and SavedModel files ignore safe_mode, and a pickle
    runs code when it is opened.
    """
    if Path(path).suffix != ".keras":
        raise PipelineError(
            f"{str(path)!r} is not a .keras file: only the Keras format is loaded, with safe_mode "
            "(HDF5, SavedModel and pickles can run code). Fix: save the model with model.save('x.keras')."
        )
    return keras.saving.load_model(path, safe_mode=True, compile=False)


def input_signature(model: keras.Model) -> dict:
    """The model's inputs as TensorSpecs: one free batch dimension, so one trace serves all."""
    import tensorflow as tf

    return {
        tensor.name: tf.TensorSpec(
            [None, *tensor.shape[1:]], tf.string if tensor.dtype == "string" else tf.float32
        )
        for tensor in model.inputs
    }


def compiled_logits(model: keras.Model) -> Callable[[Inputs], np.ndarray]:
    """A traced call for every batch size, warmed up: under a millisecond a call here.

    `model.predict` builds a data pipeline per call (about 65 ms); one input signature with
    a free batch dimension keeps TensorFlow from retracing per request size.
    """
    import tensorflow as tf

    signature = input_signature(model)
    traced = tf.function(lambda inputs: model(inputs, training=False), input_signature=[signature])
    traced(
        {
            name: np.zeros((1, *spec.shape[1:]), dtype="float32")
            if spec.dtype == tf.float32
            else np.full((1, *spec.shape[1:]), "", dtype=object)
            for name, spec in signature.items()
        }
    )

    def call(inputs: Inputs) -> np.ndarray:
        return traced({name: inputs[name] for name in signature}).numpy()

    return call


def logits(model: keras.Model, inputs: Inputs) -> np.ndarray:
    """One direct call: `model.predict` builds a data pipeline per call (tens of ms)."""
    return np.asarray(model(dict(inputs), training=False))
