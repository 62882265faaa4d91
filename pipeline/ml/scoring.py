"""A model's outputs on a split: the evaluate stage and the gate score the same way."""

from __future__ import annotations

import keras
import numpy as np

from pipeline.core.postprocess import outputs
from pipeline.ml.model import logits


def model_outputs(model: keras.Model, x: np.ndarray, task: str) -> np.ndarray:
    """Class probabilities (one row per record), or the values of a regression."""
    return outputs(logits(model, x), task)
