"""The model learns from raw columns and carries its preprocessing: it overfits a small batch,
beats a baseline for every task, and answers the same after a save and a load."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import Model, Train
from pipeline.core.contract import EMBEDDING, ONE_HOT
from pipeline.core.diagnosis import diagnose
from pipeline.core.metrics import binary_metrics, multiclass_metrics, regression_metrics
from pipeline.core.postprocess import outputs
from pipeline.core.stats import frame_contract
from pipeline.core.tasks import BINARY, MULTICLASS, REGRESSION, choose_loss
from pipeline.ml.model import build_model, compile_model, compiled_logits, load_model, logits
from tests.ml.tables import MIXED_KINDS, batches, inputs, mixed_frame, numeric_contract

SPEC = choose_loss(BINARY, 2)


def test_can_overfit_one_small_batch_of_raw_rows():
    """Random labels on 16 rows with numbers, a missing value and categories: only
    memorisation brings the loss near zero."""
    keras.utils.set_random_seed(0)
    frame, _ = mixed_frame(16, seed=0)
    y = np.random.default_rng(0).integers(0, 2, size=16)
    contract, _ = frame_contract(frame, MIXED_KINDS)
    model = build_model(contract, SPEC, Model(hidden_units=[32, 32], dropout=0.0))
    compile_model(model, SPEC, Train(learning_rate=0.01))
    history = model.fit(batches(inputs(frame, contract), y, 16), epochs=300, verbose=0)
    assert history.history["loss"][0] > 0.5
    assert history.history["loss"][-1] < 0.02
    assert history.history["accuracy"][-1] == 1.0


def test_learns_from_numbers_with_missing_values_and_categories_better_than_without_them():
    frame, y = mixed_frame(3000, seed=1)
    train, test = np.arange(2400), np.arange(2400, 3000)
    contract, _ = frame_contract(frame.iloc[train], MIXED_KINDS)
    keras.utils.set_random_seed(1)
    model = build_model(contract, SPEC, Model())
    compile_model(model, SPEC, Train(learning_rate=0.003))
    model.fit(batches(inputs(frame.iloc[train], contract), y[train], 64), epochs=25, verbose=0)
    p = outputs(logits(model, inputs(frame.iloc[test], contract)), BINARY)[:, 1]
    with_all = binary_metrics(y[test], p, 0.5)["accuracy"]
    majority = max(y[test].mean(), 1 - y[test].mean())
    assert with_all > majority + 0.25
    assert with_all > 0.85


def test_missing_and_unseen_values_are_handled_inside_the_model():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, np.nan, 10.0], "colour": ["red", "red", None, "blue", "blue"]})
    contract, _ = frame_contract(frame, {"a": "numeric", "colour": "categorical"})
    a, colour = contract.features
    assert (a.median, a.indicator, a.missing_count) == (2.5, True, 1)
    assert colour.categories == ["blue", "red", ""] and colour.encoding == ONE_HOT
    model = build_model(contract, SPEC, Model(hidden_units=[2], dropout=0.0))
    probe = keras.Model(
        model.inputs, [model.get_layer("normalize").output, model.get_layer("features").output]
    )
    rows = pd.DataFrame({"a": [np.nan, 4.0], "colour": [None, "purple"]})
    normalised, features = (np.asarray(t) for t in probe(inputs(rows, contract)))
    spread = np.sqrt(np.float32(a.variance))
    np.testing.assert_allclose(
        normalised.ravel(), [(2.5 - a.mean) / spread, (4.0 - a.mean) / spread], rtol=1e-5
    )
    # [normalised a, a was missing, OOV, blue, red, missing]
    assert features[:, 1:].tolist() == [[1.0, 0, 0, 0, 1], [0.0, 1, 0, 0, 0]]


def test_many_categories_are_embedded():
    frame, _ = mixed_frame(500)
    contract, _ = frame_contract(frame, MIXED_KINDS, embed_above=20)
    assert [f.encoding for f in contract.features[2:]] == [ONE_HOT, EMBEDDING]
    model = build_model(contract, SPEC, Model(embedding_dim=3))
    assert model.get_layer("embed_1").output.shape == (None, 1, 3)


def test_outputs_logits_and_round_trips_through_a_keras_file(tmp_path):
    frame, _ = mixed_frame(200)
    contract, _ = frame_contract(frame, MIXED_KINDS)
    model = build_model(contract, SPEC, Model(hidden_units=[4], dropout=0.0))
    assert model.layers[-1].get_config()["activation"] == "linear"
    path = tmp_path / "m.keras"
    model.save(path)
    probe = pd.concat(
        [
            frame.iloc[:20],
            pd.DataFrame(
                {
                    "a": [np.nan, 1e30],
                    "b": [np.nan, -1e30],
                    "colour": ["never seen", None],
                    "city": [None, "c99"],
                }
            ),
        ]
    )
    x = inputs(probe, contract)
    reloaded = load_model(path)
    np.testing.assert_allclose(logits(reloaded, x), logits(model, x), rtol=1e-6)
    np.testing.assert_allclose(compiled_logits(reloaded)(x), logits(model, x), rtol=1e-6)


def test_multiclass_beats_the_majority_baseline_with_either_label_encoding():
    from sklearn.datasets import load_wine

    data = load_wine()
    x, y = data.data.astype("float32"), data.target
    order = np.random.default_rng(3).permutation(len(y))
    train, test = order[:120], order[120:]
    contract, _ = numeric_contract(x[train], MULTICLASS, [0, 1, 2])
    majority = np.bincount(y[test]).max() / len(test)
    for encoding in ("integer", "one_hot"):
        spec = choose_loss(MULTICLASS, 3, "auto", encoding)
        keras.utils.set_random_seed(3)
        model = build_model(contract, spec, Model())
        compile_model(model, spec, Train(learning_rate=0.01))
        model.fit(batches(inputs(x[train], contract), spec.targets(y[train]), 16), epochs=40, verbose=0)
        out = outputs(logits(model, inputs(x[test], contract)), MULTICLASS)
        accuracy = multiclass_metrics(y[test], out, 2)["accuracy"]
        assert accuracy > majority + 0.4, encoding  # majority is about 0.4 here
        assert accuracy > 0.9, encoding


def test_regression_beats_predicting_the_mean_in_the_targets_units():
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    x, y = data.data.astype("float32"), data.target.astype("float32")
    order = np.random.default_rng(4).permutation(len(y))
    train, test = order[:350], order[350:]
    spec = choose_loss(REGRESSION, 0)
    contract, stats = numeric_contract(x[train], REGRESSION, [], y=y[train])
    keras.utils.set_random_seed(4)
    model = build_model(contract, spec, Model(), stats.target)
    compile_model(model, spec, Train(learning_rate=0.01))
    model.fit(batches(inputs(x[train], contract), y[train], 32), epochs=60, verbose=0)
    values = outputs(logits(model, inputs(x[test], contract)), REGRESSION)
    assert 25 < values.mean() < 350  # answers in the target's own units (disease progression)
    assert regression_metrics(y[test], values)["r2"] > 0.3  # the mean predictor scores about 0


def test_diagnosis_of_real_runs_provoked_to_overfit_and_to_diverge():
    """Tiny data and a big model overfit; a huge learning rate diverges."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x, y = data.data.astype("float32"), data.target
    order = np.random.default_rng(5).permutation(len(y))
    train, val = order[:40], order[40:190]
    contract, _ = numeric_contract(x[train])
    fit_x, val_x = inputs(x[train], contract), inputs(x[val], contract)
    keras.utils.set_random_seed(5)
    model = build_model(contract, SPEC, Model(hidden_units=[256, 256], dropout=0.0))
    compile_model(model, SPEC, Train(learning_rate=0.001))
    fit = model.fit(
        batches(fit_x, y[train], 8), validation_data=batches(val_x, y[val], 8, False), epochs=80, verbose=0
    )
    overfit = diagnose(fit.history)
    assert overfit.verdict == "overfitting", overfit
    assert overfit.best_epoch < 40 and overfit.evidence["val_loss_rise"] >= 0.1

    keras.utils.set_random_seed(5)
    model = build_model(contract, SPEC, Model(hidden_units=[64, 64], dropout=0.0))
    compile_model(model, SPEC, Train(learning_rate=10.0, optimizer="sgd", momentum=0.9))
    fit = model.fit(
        batches(fit_x, y[train], 8), validation_data=batches(val_x, y[val], 8, False), epochs=20, verbose=0
    )
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
    frame, y = mixed_frame(256, seed=6)
    contract, _ = frame_contract(frame, MIXED_KINDS)
    keras.utils.set_random_seed(6)
    from pipeline.core.cluster import SOLO
    from pipeline.ml.inputs import memory_dataset
    from pipeline.ml.strategy import start

    assert type(start("mirrored", SOLO, 60)) is type(distribution("mirrored"))
    with start("mirrored", SOLO, 60).scope():
        model = build_model(contract, SPEC, Model(hidden_units=[16], dropout=0.0))
        # The fast-epoch settings: 4 batches a call, the data repeating through one iterator.
        compile_model(model, SPEC, Train(learning_rate=0.02), steps_per_execution=4)
    rng = np.random.default_rng(6)
    data = memory_dataset(inputs(frame, contract), y, lambda: rng.permutation(256), 32, 256, repeat=True)
    history = model.fit(data, epochs=30, steps_per_epoch=8, verbose=0)
    assert len(history.history["accuracy"]) == 30 and history.history["accuracy"][-1] > 0.8


def test_only_keras_files_are_loaded_and_unsafe_layers_are_refused(tmp_path):
    from pipeline.core.errors import PipelineError

    contract, _ = numeric_contract(np.ones((4, 2), dtype="float32"))
    model = build_model(contract, SPEC, Model(hidden_units=[2], dropout=0.0))
    model.save_weights(tmp_path / "m.weights.h5")
    (tmp_path / "m.pkl").write_bytes(b"not even a pickle")
    for name in ("m.weights.h5", "m.pkl"):
        with pytest.raises(PipelineError, match="is not a .keras file"):
            load_model(tmp_path / name)
    inputs_ = keras.Input(shape=(2,))
    unsafe = keras.Model(inputs_, keras.layers.Lambda(lambda t: t * 2)(inputs_))
    unsafe.save(tmp_path / "lambda.keras")
    with pytest.raises(ValueError, match="safe_mode"):
        load_model(tmp_path / "lambda.keras")
