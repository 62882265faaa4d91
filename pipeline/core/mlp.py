"""The pipeline's MLP run forward in NumPy: the logits evaluation and the gate need, without
starting TensorFlow.

Importing TensorFlow costs about 6 s on this kind of machine, in every process that does;
the evaluate and register stages only call a trained model, so they read its weights
(io/keras_file.py) and compute what Keras would, layer by layer, in float32 as Keras does.
A model with any other layer is not an `MLP`; it is loaded by Keras instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import erf

KERAS_EPSILON = 1e-7  # keras.backend.epsilon(): the smallest spread Normalization divides by
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # never overflows, unlike 1 / (1 + exp(-x))


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
    "gelu": lambda x: 0.5 * x * (1.0 + erf(x / np.sqrt(2.0))),  # Keras' exact (erf) form
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
class MLP:
    """The layers that act at inference, in order (dropout does nothing there)."""

    layers: tuple[Normalize | Dense | Rescale, ...]

    def logits(self, x: np.ndarray) -> np.ndarray:
        out = np.asarray(x, dtype="float32")
        for layer in self.layers:
            out = layer(out)
        return out
