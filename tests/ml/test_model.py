"""The model learns: it overfits a small batch and beats a baseline, for every task."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from pipeline.core.config import Model, Train
from pipeline.core.diagnosis import diagnose
from pipeline.core.metrics import binary_metrics, multiclass_metrics, regression_metrics
from pipeline.core.postprocess import outputs
from pipeline.core.stats import TrainingStats
from pipeline.core.tasks import BINARY, MULTICLASS, REGRESSION, choose_loss
from pipeline.ml.model import build_model, compile_model, load_model, logits

SPEC = choose_loss(BINARY, 2)


def test_can_overfit_one_small_batch():
    """Random labels on 16 random rows: only memorisation brings the loss near zero."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype("float32")
    y = rng.integers(0, 2, size=16)
    model = build_model(TrainingStats.of(x), SPEC, Model(hidden_units=[32, 32], dropout=0.0))
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
    model = build_model(TrainingStats.of(x[train]), SPEC, Model())
    compile_model(model, SPEC, Train())
    model.fit(x[train], y[train], epochs=30, batch_size=32, verbose=0)
    p = outputs(logits(model, x[test]), BINARY)[:, 1]
    majority = max(y[test].mean(), 1 - y[test].mean())
    accuracy = binary_metrics(y[test], p, 0.5)["accuracy"]
    assert accuracy > majority + 0.25  # majority is about 0.63 here
    assert accuracy > 0.93


def test_outputs_logits_and_round_trips_through_a_keras_file(tmp_path):
    x = np.random.default_rng(2).normal(size=(20, 3)).astype("float32") * 100
    model = build_model(TrainingStats.of(x), SPEC, Model(hidden_units=[4], dropout=0.0))
    assert model.layers[-1].get_config()["activation"] == "linear"
    path = tmp_path / "m.keras"
    model.save(path)
    np.testing.assert_allclose(logits(load_model(path), x), logits(model, x), rtol=1e-6)


def test_normalisation_is_adapted_on_the_training_rows():
    x = np.array([[10.0], [20.0], [30.0]], dtype="float32")
    model = build_model(TrainingStats.of(x), SPEC, Model(hidden_units=[2], dropout=0.0))
    normalize = model.get_layer("normalize")
    np.testing.assert_allclose(np.asarray(normalize(x)).ravel(), [-1.2247449, 0.0, 1.2247449],
                               rtol=1e-5)


def held_out(x: np.ndarray, y: np.ndarray, seed: int, n_train: int):
    order = np.random.default_rng(seed).permutation(len(y))
    return order[:n_train], order[n_train:]


def test_multiclass_beats_the_majority_baseline_with_either_label_encoding():
    from sklearn.datasets import load_wine

    data = load_wine()
    x, y = data.data.astype("float32"), data.target
    train, test = held_out(x, y, 3, 120)
    majority = np.bincount(y[test]).max() / len(test)
    for encoding in ("integer", "one_hot"):
        spec = choose_loss(MULTICLASS, 3, "auto", encoding)
        keras.utils.set_random_seed(3)
        model = build_model(TrainingStats.of(x[train]), spec, Model())
        compile_model(model, spec, Train(learning_rate=0.01))
        model.fit(x[train], spec.targets(y[train]), epochs=40, batch_size=16, verbose=0)
        accuracy = multiclass_metrics(y[test], outputs(logits(model, x[test]), MULTICLASS), 2)["accuracy"]
        assert accuracy > majority + 0.4, encoding  # majority is about 0.4 here
        assert accuracy > 0.9, encoding


def test_regression_beats_predicting_the_mean_in_the_targets_units():
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    x, y = data.data.astype("float32"), data.target.astype("float32")
    train, test = held_out(x, y, 4, 350)
    spec = choose_loss(REGRESSION, 0)
    keras.utils.set_random_seed(4)
    model = build_model(TrainingStats.of(x[train], y[train]), spec, Model())
    compile_model(model, spec, Train(learning_rate=0.01))
    model.fit(x[train], y[train], epochs=60, batch_size=32, verbose=0)
    values = outputs(logits(model, x[test]), REGRESSION)
    assert 25 < values.mean() < 350  # answers in the target's own units (disease progression)
    assert regression_metrics(y[test], values)["r2"] > 0.3  # the mean predictor scores about 0


def test_diagnosis_of_real_runs_provoked_to_overfit_and_to_diverge():
    """Tiny data and a big model overfit; a huge learning rate on raw inputs diverges."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x, y = data.data.astype("float32"), data.target
    train, rest = held_out(x, y, 5, 40)
    val = rest[:150]
    keras.utils.set_random_seed(5)
    model = build_model(TrainingStats.of(x[train]), SPEC, Model(hidden_units=[256, 256], dropout=0.0))
    compile_model(model, SPEC, Train(learning_rate=0.001))
    fit = model.fit(x[train], y[train], validation_data=(x[val], y[val]), epochs=80, batch_size=8,
                    verbose=0)
    overfit = diagnose(fit.history)
    assert overfit.verdict == "overfitting", overfit
    assert overfit.best_epoch < 40 and overfit.evidence["val_loss_rise"] >= 0.1

    keras.utils.set_random_seed(5)
    model = build_model(TrainingStats.of(x[train]), SPEC, Model(hidden_units=[64, 64], dropout=0.0))
    compile_model(model, SPEC, Train(learning_rate=10.0, optimizer="sgd", momentum=0.9))
    fit = model.fit(x[train], y[train], validation_data=(x[val], y[val]), epochs=20, batch_size=8,
                    verbose=0)
    diverged = diagnose(fit.history)
    assert diverged.verdict in ("diverged", "lr_too_high"), diverged
    assert "Lower train.learning_rate" in diverged.fix


def test_mirrored_strategy_and_mixed_precision_run_unchanged_on_a_cpu():
    """The GPU params are safe on a CPU-only machine: same model, float32, it still learns."""
    from pipeline.ml.model import devices, distribution, use_mixed_precision

    if devices() != "CPU":
        pytest.skip("checks the CPU-only path")
    assert use_mixed_precision(True) is False  # no GPU: float16 would only be slower
    assert keras.mixed_precision.global_policy().name == "float32"
    x = np.random.default_rng(6).normal(size=(64, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    keras.utils.set_random_seed(6)
    with distribution("mirrored").scope():
        model = build_model(TrainingStats.of(x), SPEC, Model(hidden_units=[8], dropout=0.0))
        compile_model(model, SPEC, Train(learning_rate=0.05))
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


def test_only_keras_files_are_loaded_and_unsafe_layers_are_refused(tmp_path):
    from pipeline.core.errors import PipelineError

    x = np.ones((4, 2), dtype="float32")
    model = build_model(TrainingStats.of(x), SPEC, Model(hidden_units=[2], dropout=0.0))
    model.save_weights(tmp_path / "m.weights.h5")
    (tmp_path / "m.pkl").write_bytes(b"not even a pickle")
    for name in ("m.weights.h5", "m.pkl"):
        with pytest.raises(PipelineError, match="is not a .keras file"):
            load_model(tmp_path / name)
    inputs = keras.Input(shape=(2,))
    unsafe = keras.Model(inputs, keras.layers.Lambda(lambda t: t * 2)(inputs))
    unsafe.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        load_model(tmp_path / "lambda.keras")
