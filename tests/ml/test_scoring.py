"""Scoring without TensorFlow: the NumPy forward pass of a saved MLP equals Keras' own."""

import keras
import numpy as np
import pytest

from pipeline.core.config import Model
from pipeline.core.stats import TrainingStats
from pipeline.core.tasks import BINARY, MULTICLASS, REGRESSION, choose_loss
from pipeline.io.keras_file import read_mlp
from pipeline.ml.model import build_model, logits
from pipeline.ml.scoring import model_logits, split_outputs

RNG = np.random.default_rng(0)
X = (RNG.normal(size=(64, 5)) * [1, 10, 100, 0.1, 5] + [0, 5, -50, 1, 0]).astype("float32")


def trained_like(model: keras.Model) -> keras.Model:
    """Random weights of a realistic size, so every activation's both sides are exercised."""
    model.set_weights([RNG.normal(scale=0.8 if w.ndim == 2 else 0.3, size=w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


@pytest.mark.parametrize("activation", ["relu", "gelu", "selu", "elu", "tanh", "swish"])
@pytest.mark.parametrize(("task", "classes"), [(BINARY, 2), (MULTICLASS, 3), (REGRESSION, 0)])
def test_the_numpy_forward_pass_equals_keras(tmp_path, activation, task, classes):
    y = RNG.normal(loc=40, scale=7, size=64) if task == REGRESSION else None
    model = build_model(TrainingStats.of(X, y), choose_loss(task, classes),
                        Model(hidden_units=[8, 4], activation=activation, dropout=0.2))
    trained_like(model).save(tmp_path / "m.keras")
    mlp = read_mlp(tmp_path / "m.keras")
    assert mlp is not None and len(mlp.layers) == 4 + (task == REGRESSION)
    np.testing.assert_allclose(mlp.logits(X), logits(model, X), rtol=2e-5, atol=2e-5)


def test_an_adapted_normalization_as_older_champions_have_is_read_from_the_weights(tmp_path):
    normalize = keras.layers.Normalization()
    normalize.adapt(X)
    inputs = keras.Input(shape=(5,))
    model = keras.Model(inputs, keras.layers.Dense(2)(normalize(inputs)))
    model.save(tmp_path / "m.keras")
    mlp = read_mlp(tmp_path / "m.keras")
    np.testing.assert_allclose(mlp.logits(X), logits(model, X), rtol=1e-5, atol=1e-5)


def test_any_other_model_is_left_to_keras(tmp_path):
    inputs = keras.Input(shape=(5,))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.BatchNormalization()(inputs)))
    model.save(tmp_path / "m.keras")
    assert read_mlp(tmp_path / "m.keras") is None
    np.testing.assert_allclose(model_logits(tmp_path / "m.keras")(X), logits(model, X), rtol=1e-6)
    assert read_mlp(tmp_path / "missing.keras") is None


def test_a_split_is_scored_block_by_block_into_targets_and_probabilities():
    blocks = [(X[:40], np.zeros(40)), (X[40:], np.ones(24))]
    y, out = split_outputs(lambda x: x[:, :1], blocks, BINARY)
    assert y.tolist() == [0.0] * 40 + [1.0] * 24
    np.testing.assert_allclose(out[:, 1], 1 / (1 + np.exp(-X[:, 0])), rtol=1e-6)
