"""A model's probabilities on a split: the evaluate stage and the gate score the same way."""

from __future__ import annotations

import keras
import numpy as np

from pipeline.core.postprocess import probabilities
from pipeline.ml.model import logits


def class_probabilities(model: keras.Model, x: np.ndarray, task: str) -> np.ndarray:
    return probabilities(logits(model, x), task)
