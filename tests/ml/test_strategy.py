"""pipeline/ml/strategy.py: the strategy of each setting, and a model built before `fit`."""

import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf

from pipeline.core.cluster import SOLO
from pipeline.core.config import Model, Train
from pipeline.core.contract import NUMERIC, Contract, FeatureSpec
from pipeline.core.tasks import BINARY, choose_loss
from pipeline.ml.model import build_model, compile_model
from pipeline.ml.strategy import build_before_fit, distributed, start
from tests.conftest import ROOT


def test_none_is_tensorflows_default_strategy():
    assert start("none", SOLO, 60) is tf.distribute.get_strategy()


def test_tensorflow_starts_without_scikit_learn_which_stays_importable():
    """A fresh process, as a training stage is: Keras skips its scikit-learn wrappers (and SciPy's
    stats), and a later `import sklearn` (a process that trains, then evaluates) still works."""
    code = (
        "import sys\n"
        "from pipeline.ml.strategy import import_tensorflow\n"
        "tf = import_tensorflow()\n"
        "print(tf.__name__, 'keras' in sys.modules, 'sklearn' in sys.modules, 'scipy.stats' in sys.modules)\n"
        "from sklearn.linear_model import LinearRegression\n"
        "print(LinearRegression.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["tensorflow", "True", "False", "False", "LinearRegression"]


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
