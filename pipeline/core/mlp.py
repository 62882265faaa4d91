"""The pipeline's model run forward in NumPy: the logits evaluation and the gate need, without
starting TensorFlow.

Importing TensorFlow costs about 6 s on this kind of machine, in every process that does;
the evaluate and register stages only call a trained model, so they read its config and
weights (ml/keras_file.py) and compute what Keras would, node by node, in float32 as Keras
does: the imputation ops, lookups, normalisation, embeddings and the dense stack. A model
with any other layer is not a `Graph`; it is loaded by Keras instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

KERAS_EPSILON = 1e-7  # keras.backend.epsilon(): the smallest spread Normalization divides by
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _gelu(x: np.ndarray) -> np.ndarray:
    """Keras' exact (erf) form. SciPy is imported here, by the one activation that needs it:
    a service or a stage scoring any other model starts without it."""
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # never overflows, unlike 1 / (1 + exp(-x))


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "gelu": _gelu,
    "swish": lambda x: x * _sigmoid(x),
    "silu": lambda x: x * _sigmoid(x),
}


@dataclass(frozen=True)
class Normalize:
    mean: np.ndarray
    variance: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        spread = np.maximum(np.sqrt(self.variance.astype("float32")), np.float32(KERAS_EPSILON))
        return (x - self.mean.astype("float32")) / spread


@dataclass(frozen=True)
class Dense:
    kernel: np.ndarray
    bias: np.ndarray | None
    activation: str

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.kernel
        if self.bias is not None:
            y = y + self.bias
        return ACTIVATIONS[self.activation](y).astype("float32", copy=False)


@dataclass(frozen=True)
class Rescale:
    scale: float
    offset: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x * np.float32(self.scale) + np.float32(self.offset)


@dataclass(frozen=True)
class Lookup:
    """StringLookup with one out-of-vocabulary index (0) and no mask: category i -> i + 1."""

    vocabulary: tuple[str, ...]
    one_hot: bool

    def __call__(self, x: np.ndarray) -> np.ndarray:
        codes = pd.Index(self.vocabulary).get_indexer(np.asarray(x, dtype=object).reshape(-1)) + 1
        if not self.one_hot:
            return codes.reshape(np.shape(x))
        out = np.zeros((len(codes), len(self.vocabulary) + 1), dtype="float32")
        out[np.arange(len(codes)), codes] = 1.0
        return out


@dataclass(frozen=True)
class Embed:
    table: np.ndarray

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        return self.table[codes].astype("float32", copy=False)


def _flatten(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def _concatenate(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(p, dtype="float32") for p in parts], axis=-1)


def op(name: str, **settings: Any) -> Callable[..., np.ndarray] | None:
    """The NumPy counterpart of a `keras.ops` call saved in a functional model, or None."""
    if name == "Isnan":
        return np.isnan
    if name == "Where":
        return lambda condition, x, y: np.where(condition, np.asarray(x, "float32"), y).astype("float32")
    if name == "Take":
        return lambda x, indices: np.take(x, np.asarray(indices), axis=settings.get("axis"))
    if name == "Cast":
        return lambda x: np.asarray(x).astype(settings["dtype"])
    return None


# A node's argument: the name of the node whose output it takes, or a constant.
Ref = str


@dataclass(frozen=True)
class Node:
    name: str
    call: Callable[..., np.ndarray]
    args: tuple[Any, ...]  # Ref (str) or Constant

    def arguments(self, values: Mapping[str, np.ndarray]) -> list[Any]:
        return [values[a] if isinstance(a, str) else a.value for a in self.args]


@dataclass(frozen=True)
class Constant:
    value: Any


@dataclass(frozen=True)
class Graph:
    """A functional model's inference graph: named inputs, nodes in order, one output."""

    inputs: tuple[str, ...]
    nodes: tuple[Node, ...]
    output: str

    def logits(self, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        values: dict[str, Any] = {}
        for name in self.inputs:
            column = np.asarray(inputs[name])
            values[name] = column.astype("float32") if column.dtype.kind in "fiub" else column
        for node in self.nodes:
            values[node.name] = node.call(*node.arguments(values))
        return np.asarray(values[self.output], dtype="float32")


def chain(layers: Sequence[Callable[[np.ndarray], np.ndarray]], input_name: str = "features") -> Graph:
    """A plain stack of layers on one input: what older champions and tests build."""
    nodes, previous = [], input_name
    for i, layer in enumerate(layers):
        nodes.append(Node(f"layer_{i}", layer, (previous,)))
        previous = f"layer_{i}"
    return Graph((input_name,), tuple(nodes), previous)


LAYERS = {"Flatten": _flatten, "Concatenate": _concatenate}
