"""A model's outputs on a split: the evaluate stage and the gate score the same way.

Scoring needs no TensorFlow when the model is the pipeline's MLP (read and run in NumPy,
io/keras_file.py); any other model is loaded by Keras, which imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from pipeline.core.postprocess import outputs
from pipeline.io.keras_file import read_mlp

Logits = Callable[[np.ndarray], np.ndarray]


def model_logits(path: str | Path) -> Logits:
    """The model file's forward pass: NumPy for the pipeline's MLP, Keras for anything else."""
    mlp = read_mlp(path)
    if mlp is not None:
        return mlp.logits
    from pipeline.ml.model import load_model, logits

    model = load_model(path)
    return lambda x: logits(model, x)


def split_outputs(call: Logits, blocks: Iterable[tuple[np.ndarray, np.ndarray]],
                  task: str) -> tuple[np.ndarray, np.ndarray]:
    """(targets, outputs: class probabilities or values) of a split scored block by block:
    only the answers are held whole, never the features of every row at once."""
    targets, answers = [], []
    for x, y in blocks:
        targets.append(y)
        answers.append(outputs(call(x), task))
    return np.concatenate(targets), np.concatenate(answers)
