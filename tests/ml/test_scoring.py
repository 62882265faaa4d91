"""Scoring without TensorFlow: the NumPy forward pass of a saved model equals Keras' own,
preprocessing included (missing numbers, missing and unseen categories, embeddings)."""

import keras
import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import Model
from pipeline.core.mlp import Dense, Normalize, chain
from pipeline.core.stats import frame_contract
from pipeline.core.tasks import BINARY, MULTICLASS, REGRESSION, choose_loss
from pipeline.ml.keras_file import read_graph
from pipeline.ml.model import build_model, logits
from pipeline.ml.scoring import model_logits, split_outputs
from tests.ml.tables import MIXED_KINDS, inputs, mixed_frame

RNG = np.random.default_rng(0)
FRAME, _ = mixed_frame(64)
PROBE = pd.concat(
    [
        FRAME,
        pd.DataFrame(
            {"a": [np.nan, 3e30], "b": [np.nan, -7.0], "colour": ["purple", None], "city": [None, "c-new"]}
        ),
    ]
)


def trained_like(model: keras.Model) -> keras.Model:
    """Random weights of a realistic size, so every activation's both sides are exercised."""
    model.set_weights(
        [
            RNG.normal(scale=0.8 if w.ndim == 2 else 0.3, size=w.shape).astype("float32")
            for w in model.get_weights()
        ]
    )
    return model


@pytest.mark.parametrize("activation", ["relu", "gelu", "selu", "elu", "tanh", "swish"])
@pytest.mark.parametrize(("task", "labels"), [(BINARY, [0, 1]), (MULTICLASS, [0, 1, 2]), (REGRESSION, [])])
def test_the_numpy_forward_pass_equals_keras(tmp_path, activation, task, labels):
    y = RNG.normal(loc=40, scale=7, size=64) if task == REGRESSION else None
    contract, stats = frame_contract(
        FRAME, MIXED_KINDS, task=task, class_labels=labels, embed_above=5, target_values=y
    )
    model = build_model(
        contract,
        choose_loss(task, len(labels)),
        Model(hidden_units=[8, 4], activation=activation, dropout=0.2),
        stats.target,
    )
    trained_like(model).save(tmp_path / "m.keras")
    graph = read_graph(tmp_path / "m.keras")
    assert graph is not None and set(graph.inputs) == {f.input for f in contract.features}
    x = inputs(PROBE, contract)
    np.testing.assert_allclose(graph.logits(x), logits(model, x), rtol=2e-5, atol=2e-5)


def test_an_adapted_normalization_as_older_models_have_is_read_from_the_weights(tmp_path):
    x = RNG.normal(size=(64, 5)).astype("float32") * 10
    normalize = keras.layers.Normalization()
    normalize.adapt(x)
    features = keras.Input(shape=(5,), name="features")
    model = keras.Model(features, keras.layers.Dense(2)(normalize(features)))
    model.save(tmp_path / "m.keras")
    graph = read_graph(tmp_path / "m.keras")
    np.testing.assert_allclose(
        graph.logits({"features": x}), logits(model, {"features": x}), rtol=1e-5, atol=1e-5
    )


def test_any_other_model_is_left_to_keras(tmp_path):
    features = keras.Input(shape=(5,), name="features")
    model = keras.Model(features, keras.layers.Dense(1)(keras.layers.BatchNormalization()(features)))
    model.save(tmp_path / "m.keras")
    assert read_graph(tmp_path / "m.keras") is None
    x = {"features": RNG.normal(size=(8, 5)).astype("float32")}
    np.testing.assert_allclose(model_logits(tmp_path / "m.keras")(x), logits(model, x), rtol=1e-6)
    assert read_graph(tmp_path / "missing.keras") is None


def test_a_plain_chain_runs_its_layers_in_order():
    graph = chain(
        [
            Normalize(np.array([1.0]), np.array([4.0])),
            Dense(np.array([[3.0]], "float32"), np.array([1.0], "float32"), "relu"),
        ]
    )
    assert graph.logits({"features": np.array([[5.0], [-5.0]])}).ravel().tolist() == [7.0, 0.0]


def test_a_split_is_scored_block_by_block_into_targets_and_probabilities():
    x = RNG.normal(size=(64, 1)).astype("float32")
    blocks = [({"v": x[:40]}, np.zeros(40)), ({"v": x[40:]}, np.ones(24))]
    y, out = split_outputs(lambda inputs: inputs["v"], blocks, BINARY)
    assert y.tolist() == [0.0] * 40 + [1.0] * 24
    np.testing.assert_allclose(out[:, 1], 1 / (1 + np.exp(-x[:, 0])), rtol=1e-6)
