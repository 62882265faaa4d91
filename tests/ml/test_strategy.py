"""pipeline/ml/strategy.py: the strategy of each setting, and a model built before `fit`."""

import keras
import numpy as np
import tensorflow as tf

from pipeline.core.cluster import SOLO
from pipeline.core.config import Model, Train
from pipeline.core.contract import NUMERIC, Contract, FeatureSpec
from pipeline.core.tasks import BINARY, choose_loss
from pipeline.ml.model import build_model, compile_model
from pipeline.ml.strategy import build_before_fit, distributed, start


def test_none_is_tensorflows_default_strategy():
    assert start("none", SOLO, 60) is tf.distribute.get_strategy()


def test_a_model_built_from_the_spec_trains_on_a_dataset_handed_over_as_it_is():
    spec = choose_loss(BINARY, 2)
    feature = FeatureSpec("a", NUMERIC, "a", median=0.0, mean=0.0, variance=1.0)
    contract = Contract(features=[feature], target="t", task=BINARY, class_labels=[0, 1])
    strategy = start("none", SOLO, 60)
    x = np.linspace(-1, 1, 64, dtype="float32").reshape(-1, 1)
    data = tf.data.Dataset.from_tensor_slices(({"a": x}, (x[:, 0] > 0).astype("int64"))).batch(16).repeat()
    with strategy.scope():
        model = build_model(contract, spec, Model(hidden_units=[4], dropout=0.0))
        compile_model(model, spec, Train(learning_rate=0.05))
    build_before_fit(model, strategy, data.element_spec)
    history = model.fit(distributed(strategy, data), epochs=2, steps_per_epoch=4, verbose=0)
    assert len(history.history["loss"]) == 2 and all(np.isfinite(history.history["loss"]))
    assert isinstance(model, keras.Model)
