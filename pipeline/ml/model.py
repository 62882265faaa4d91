"""The Keras model: raw features in (normalised inside), logits out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

from pipeline.core.config import Model as ModelParams
from pipeline.core.config import Train as TrainParams
from pipeline.core.errors import PipelineError
from pipeline.core.stats import TrainingStats
from pipeline.core.tasks import BINARY, MULTICLASS, REGRESSION, LossSpec


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


def build_model(stats: TrainingStats, spec: LossSpec, params: ModelParams) -> keras.Model:
    """An MLP whose first layer normalises with the training split's mean and variance.

    Normalisation lives in the model, so the service and batch scoring send raw features
    and cannot drift from what training saw; the statistics come in one streamed pass over
    the split (`TrainingStats`), so no table has to fit in memory for `adapt`. The last
    layer has no activation: logits. For regression a last rescaling turns a unit-scale
    output into the target's own units (mean and spread of the training targets), so the
    loss and every answer are in those units while the layers learn on a well-conditioned
    scale.
    """
    normalizer = keras.layers.Normalization(mean=stats.features.mean, variance=stats.features.variance,
                                            name="normalize")
    inputs = keras.Input(shape=(stats.width,), name="features")
    hidden = normalizer(inputs)
    for i, units in enumerate(params.hidden_units, start=1):
        hidden = keras.layers.Dense(units, activation=params.activation, name=f"dense_{i}")(hidden)
        if params.dropout > 0:
            hidden = keras.layers.Dropout(params.dropout, name=f"dropout_{i}")(hidden)
    # float32 logits even under mixed precision: the loss needs their full range.
    outputs = keras.layers.Dense(spec.output_units, name="logits", dtype="float32")(hidden)
    if spec.task == REGRESSION and stats.target is not None:
        spread = float(np.sqrt(stats.target.variance[0])) or 1.0
        outputs = keras.layers.Rescaling(scale=spread, offset=float(stats.target.mean[0]),
                                         name="target_units")(outputs)
    return keras.Model(inputs, outputs, name="tabular_mlp")


def compile_model(model: keras.Model, spec: LossSpec, params: TrainParams) -> None:
    if params.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(params.learning_rate, momentum=params.momentum)
    else:
        optimizer = keras.optimizers.Adam(params.learning_rate)
    loss = getattr(keras.losses, spec.loss)
    loss = loss(from_logits=spec.from_logits) if spec.task != REGRESSION else loss()
    model.compile(optimizer=optimizer, loss=loss, metrics=[_metric(n, spec) for n in spec.metrics])


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


def compiled_logits(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """A traced call for every batch size, warmed up: about 0.5 ms a call on this hardware.

    `model.predict` builds a data pipeline per call (about 65 ms); one input signature with
    a free batch dimension keeps TensorFlow from retracing per request size.
    """
    import tensorflow as tf

    width = model.input_shape[-1]
    traced = tf.function(lambda x: model(x, training=False),
                         input_signature=[tf.TensorSpec([None, width], tf.float32)])
    traced(np.zeros((1, width), dtype="float32"))

    def call(x: np.ndarray) -> np.ndarray:
        return traced(np.asarray(x, dtype="float32")).numpy()

    return call


def logits(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """One direct call: `model.predict` builds a data pipeline per call (tens of ms)."""
    return np.asarray(model(np.asarray(x, dtype="float32"), training=False))
