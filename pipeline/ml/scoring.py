"""A model's outputs on a split: the evaluate stage and the gate score the same way.

Scoring needs no TensorFlow when the model is the pipeline's own (read and run in NumPy,
ml/keras_file.py); any other model is loaded by Keras, which imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

from pipeline.core.postprocess import outputs
from pipeline.core.tasks import Task
from pipeline.ml.keras_file import read_graph

Logits = Callable[[Mapping[str, np.ndarray]], np.ndarray]


def model_logits(path: str | Path) -> Logits:
    """The model file's forward pass on its inputs (core/rows.py): NumPy for the pipeline's
    model, Keras for anything else."""
    graph = read_graph(path)
    if graph is not None:
        return graph.logits
    from pipeline.ml.model import compiled_logits, load_model

    return compiled_logits(load_model(path))


def split_outputs(
    call: Logits, blocks: Iterable[tuple[Mapping[str, np.ndarray], np.ndarray]], task: Task
) -> tuple[np.ndarray, np.ndarray]:
    """(targets, outputs: class probabilities or values) of a split scored block by block:
    only the answers are held whole, never the features of every row at once."""
    targets, answers = [], []
    for x, y in blocks:
        targets.append(y)
        answers.append(outputs(call(x), task))
    return np.concatenate(targets), np.concatenate(answers)
