"""The model learns: it overfits a small batch and beats the majority baseline."""

from __future__ import annotations

import keras
import numpy as np

from pipeline.core.config import Model, Train
from pipeline.core.metrics import binary_metrics
from pipeline.core.tasks import BINARY, choose_loss
from pipeline.ml.model import build_model, compile_model, load_model, logits
from pipeline.ml.scoring import class_probabilities

SPEC = choose_loss(BINARY)


def test_can_overfit_one_small_batch():
    """Random labels on 16 random rows: only memorisation brings the loss near zero."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype("float32")
    y = rng.integers(0, 2, size=16)
    model = build_model(x, SPEC, Model(hidden_units=[32, 32], dropout=0.0))
    compile_model(model, SPEC, Train(learning_rate=0.01))
    history = model.fit(x, y, epochs=300, batch_size=16, verbose=0)
    assert history.history["loss"][0] > 0.5
    assert history.history["loss"][-1] < 0.02
    assert history.history["accuracy"][-1] == 1.0


def test_beats_the_majority_baseline_on_held_out_rows():
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x, y = data.data.astype("float32"), data.target
    order = np.random.default_rng(1).permutation(len(y))
    train, test = order[:400], order[400:]
    keras.utils.set_random_seed(1)
    model = build_model(x[train], SPEC, Model())
    compile_model(model, SPEC, Train())
    model.fit(x[train], y[train], epochs=30, batch_size=32, verbose=0)
    p = class_probabilities(model, x[test], BINARY)[:, 1]
    majority = max(y[test].mean(), 1 - y[test].mean())
    accuracy = binary_metrics(y[test], p, 0.5)["accuracy"]
    assert accuracy > majority + 0.25  # majority is about 0.63 here
    assert accuracy > 0.93


def test_outputs_logits_and_round_trips_through_a_keras_file(tmp_path):
    x = np.random.default_rng(2).normal(size=(20, 3)).astype("float32") * 100
    model = build_model(x, SPEC, Model(hidden_units=[4], dropout=0.0))
    assert model.layers[-1].get_config()["activation"] == "linear"
    path = tmp_path / "m.keras"
    model.save(path)
    np.testing.assert_allclose(logits(load_model(path), x), logits(model, x), rtol=1e-6)


def test_normalisation_is_adapted_on_the_training_rows():
    x = np.array([[10.0], [20.0], [30.0]], dtype="float32")
    model = build_model(x, SPEC, Model(hidden_units=[2], dropout=0.0))
    normalize = model.get_layer("normalize")
    np.testing.assert_allclose(np.asarray(normalize(x)).ravel(), [-1.2247449, 0.0, 1.2247449],
                               rtol=1e-5)
