"""Small raw tables for the model tests, and the contract a model is built from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.contract import CATEGORICAL, NUMERIC, Contract
from pipeline.core.rows import model_inputs
from pipeline.core.stats import FeatureStats, frame_contract
from pipeline.core.tasks import Task


def numeric_frame(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(x, columns=[f"x{j}" for j in range(x.shape[1])])


def numeric_contract(
    x: np.ndarray, task: Task = "binary", labels=(0, 1), y=None, **kw
) -> tuple[Contract, FeatureStats]:
    frame = numeric_frame(x)
    return frame_contract(
        frame, dict.fromkeys(frame.columns, NUMERIC), task=task, class_labels=labels, target_values=y, **kw
    )


def inputs(frame: pd.DataFrame | np.ndarray, contract: Contract) -> dict[str, np.ndarray]:
    if isinstance(frame, np.ndarray):
        frame = numeric_frame(frame)
    return model_inputs(frame, contract.features)


def batches(x: dict[str, np.ndarray], y: np.ndarray, batch_size: int, shuffle: bool = True):
    """What `fit` takes: Keras' NumPy adapter refuses text columns, tf.data takes them."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(
        ({k: tf.constant(v.tolist() if v.dtype == object else v) for k, v in x.items()}, y)
    )
    if shuffle:
        dataset = dataset.shuffle(len(y), seed=0, reshuffle_each_iteration=True)
    return dataset.batch(batch_size)


def mixed_frame(rows: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two numbers (one a fifth missing), a colour with missing values, a 40-value city, and a
    binary label that depends on all of them."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(5, 2, size=rows)
    colour = rng.choice(["red", "green", "blue"], size=rows).astype(object)
    city = np.array([f"c{i}" for i in rng.integers(0, 40, size=rows)], dtype=object)
    score = 2 * a - (b - 5) + 2 * (colour == "red") + np.array([int(c[1:]) % 3 for c in city]) - 1
    y = (score + rng.normal(scale=0.5, size=rows) > 0).astype("int64")
    a[rng.random(rows) < 0.2] = np.nan
    colour[rng.random(rows) < 0.1] = None
    return pd.DataFrame({"a": a, "b": b, "colour": colour, "city": city}), y


MIXED_KINDS = {"a": NUMERIC, "b": NUMERIC, "colour": CATEGORICAL, "city": CATEGORICAL}
