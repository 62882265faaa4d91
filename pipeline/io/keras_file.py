"""A `.keras` file read as an `MLP` (core/mlp.py), when it is one: no TensorFlow needed.

The file is a zip of `config.json` (the layers, in order, with their settings) and
`model.weights.h5`, where Keras stores each layer's variables under
`layers/<snake_case class name>[_<n>]/vars/<i>`, numbered per class in the order of the
model's layers. Anything this reader does not know (another layer, a branch, a weight of an
unexpected shape) makes it answer None, and the caller loads the model with Keras.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import h5py
import numpy as np

from pipeline.core.mlp import ACTIVATIONS, MLP, Dense, Normalize, Rescale

SKIPPED = {"InputLayer", "Dropout"}  # no effect at inference


def read_mlp(path: str | Path) -> MLP | None:
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
            weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    with weights:
        try:
            return _chain(config, weights)
        except (KeyError, TypeError, ValueError):
            return None


def _chain(config: dict, weights: h5py.File) -> MLP | None:
    if config.get("class_name") != "Functional":
        return None
    layers, seen, previous, width = [], {}, None, None
    for layer in config["config"]["layers"]:
        kind, settings = layer["class_name"], layer["config"]
        store = _store_name(kind, seen)
        if previous is not None and _inputs(layer) != [previous]:
            return None  # not a plain chain
        previous = layer["name"]
        if kind in SKIPPED:
            continue
        variables = [np.asarray(weights[f"layers/{store}/vars/{i}"]) for i in
                     range(len(weights.get(f"layers/{store}/vars", {})))]
        if kind == "Normalization" and not settings.get("invert") and settings.get("axis") in ([-1], -1):
            mean = settings.get("mean")
            if mean is None:  # adapted: the statistics are variables
                mean, variance = variables[0], variables[1]
            else:
                variance = settings["variance"]
            layers.append(Normalize(np.asarray(mean, "float64").reshape(-1),
                                    np.asarray(variance, "float64").reshape(-1)))
            width = len(layers[-1].mean)
        elif kind == "Dense" and settings.get("activation") in ACTIVATIONS:
            kernel = variables[0].astype("float32")
            if kernel.shape[1] != settings["units"] or (width is not None and kernel.shape[0] != width):
                return None
            width = kernel.shape[1]
            bias = variables[1].astype("float32") if settings.get("use_bias", True) else None
            layers.append(Dense(kernel, bias, settings["activation"]))
        elif kind == "Rescaling" and np.ndim(settings["scale"]) == 0 and np.ndim(settings["offset"]) == 0:
            layers.append(Rescale(float(settings["scale"]), float(settings["offset"])))
        else:
            return None
    outputs = config["config"].get("output_layers") or [None]
    output = outputs[0] if isinstance(outputs[0], str) else (outputs[0] or [None])[0]  # one, or a list
    if not layers or output != previous:
        return None
    return MLP(tuple(layers))


def _store_name(kind: str, seen: dict[str, int]) -> str:
    """Where Keras keeps a layer's variables: its class in snake case, numbered from the second."""
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()
    count = seen.get(base, 0)
    seen[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def _inputs(layer: dict) -> list[str]:
    """The names of the layers feeding `layer` (Keras 3 functional config)."""
    names = []
    for node in layer.get("inbound_nodes", []):
        for argument in node.get("args", []):
            history = argument.get("config", {}).get("keras_history") if isinstance(argument, dict) else None
            if history:
                names.append(history[0])
    return names
