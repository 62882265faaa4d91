"""A `.keras` file read as a NumPy `Graph` (core/mlp.py), when it is one: no TensorFlow needed.

The file is a zip of `config.json` (the functional graph: layers and `keras.ops` calls with
their settings and inputs) and `model.weights.h5`, where Keras stores each layer's variables
under `layers/<snake_case class name>[_<n>]/vars/<i>`, numbered per class in the order of
the model's layers (ops have no variables and no entry). Anything this reader does not know
(another layer, a setting it does not model, a weight of an unexpected shape) makes it
answer None, and the caller loads the model with Keras. It lives beside the rest of Keras'
code, but imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pipeline.core.mlp import (
    ACTIVATIONS,
    LAYERS,
    Constant,
    Dense,
    Embed,
    Graph,
    Lookup,
    Node,
    Normalize,
    Rescale,
    op,
)


def copy_weights(model_file: str | Path, weights_file: str | Path) -> None:
    """Write the weights of a saved `.keras` model as a `.weights.h5` file, which
    `model.load_weights` reads: the archive's own `model.weights.h5`, byte for byte (Keras writes
    both through the same store), instead of a second `save_weights` walk of the model (~40 ms)."""
    with zipfile.ZipFile(model_file) as archive:
        Path(weights_file).write_bytes(archive.read("model.weights.h5"))


def read_graph(path: str | Path) -> Graph | None:
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    with weights:
        try:
            return _graph(config, weights)
        except (KeyError, TypeError, ValueError, IndexError):
            return None


def _graph(config: dict, weights: h5py.File) -> Graph | None:
    if config.get("class_name") != "Functional":
        return None
    inputs: list[str] = []
    nodes: list[Node] = []
    seen: dict[str, int] = {}
    for layer in config["config"]["layers"]:
        kind, settings, name = layer["class_name"], layer["config"], layer["name"]
        if str(layer.get("module", "")).startswith("keras.src.ops"):
            call = op(kind, **{k: v for k, v in settings.items() if k != "name"})
            if call is None:
                return None
            nodes.append(Node(name, call, _arguments(layer)))
            continue
        store = _store_name(kind, seen)
        if kind == "InputLayer":
            inputs.append(name)
            continue
        variables = [
            np.asarray(weights[f"layers/{store}/vars/{i}"])
            for i in range(len(weights.get(f"layers/{store}/vars", {})))
        ]
        call = _layer(kind, settings, variables)
        if call is None:
            return None
        nodes.append(Node(name, call, _arguments(layer)))
    output = _single(config["config"].get("output_layers"))
    if not nodes or output is None or output not in {n.name for n in nodes}:
        return None
    return Graph(tuple(inputs), tuple(nodes), output)


def _layer(kind: str, settings: dict, variables: list[np.ndarray]) -> Any:
    """The NumPy counterpart of one Keras layer, or None when this reader does not know it."""
    if kind == "Dropout":
        return lambda x: x  # no effect at inference
    if (
        kind in LAYERS
        and settings.get("axis", -1) in (-1, None)
        and settings.get("data_format") in (None, "channels_last")
    ):
        return LAYERS[kind]
    if kind == "Normalization" and not settings.get("invert") and settings.get("axis") in ([-1], -1):
        mean = settings.get("mean")
        if mean is None:  # adapted: the statistics are variables
            mean, variance = variables[0], variables[1]
        else:
            variance = settings["variance"]
        return Normalize(np.asarray(mean, "float64").reshape(-1), np.asarray(variance, "float64").reshape(-1))
    if kind == "Dense" and settings.get("activation") in ACTIVATIONS:
        kernel = variables[0].astype("float32")
        if kernel.shape[1] != settings["units"]:
            return None
        bias = variables[1].astype("float32") if settings.get("use_bias", True) else None
        return Dense(kernel, bias, settings["activation"])
    if kind == "Rescaling" and np.ndim(settings["scale"]) == 0 and np.ndim(settings["offset"]) == 0:
        return Rescale(float(settings["scale"]), float(settings["offset"]))
    if (
        kind == "StringLookup"
        and settings.get("num_oov_indices") == 1
        and settings.get("mask_token") is None
        and not settings.get("invert")
        and not settings.get("sparse")
        and settings.get("output_mode") in ("int", "one_hot")
        and isinstance(settings.get("vocabulary"), list)
    ):
        return Lookup(tuple(settings["vocabulary"]), settings["output_mode"] == "one_hot")
    if kind == "Embedding" and not settings.get("mask_zero"):
        return Embed(variables[0].astype("float32"))
    return None


def _arguments(layer: dict) -> tuple[Any, ...]:
    """A node's inputs: names of the nodes it reads, or constants (a saved NumPy array, a number)."""
    nodes = layer.get("inbound_nodes", [])
    if len(nodes) != 1:
        raise ValueError("a layer called more than once")
    arguments: list[Any] = []
    for argument in nodes[0].get("args", []):
        for item in argument if isinstance(argument, list) else [argument]:
            arguments.append(_argument(item))
    return tuple(arguments)


def _argument(item: Any) -> Any:
    if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
        return item["config"]["keras_history"][0]
    if isinstance(item, dict) and item.get("class_name") == "__numpy__":
        return Constant(np.asarray(item["config"]["value"], dtype=item["config"]["dtype"]))
    if isinstance(item, int | float) and not isinstance(item, bool):
        return Constant(item)
    raise ValueError(f"an argument this reader does not know: {item!r}")


def _single(outputs: Any) -> str | None:
    """The name of a model's one output ([name, 0, 0], or a list holding one)."""
    if isinstance(outputs, list) and outputs and isinstance(outputs[0], str):
        return outputs[0]
    if isinstance(outputs, list) and len(outputs) == 1:
        return _single(outputs[0])
    return None


def _store_name(kind: str, seen: dict[str, int]) -> str:
    """Where Keras keeps a layer's variables: its class in snake case, numbered from the second."""
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()
    count = seen.get(base, 0)
    seen[base] = count + 1
    return base if count == 0 else f"{base}_{count}"
