"""Training throughput from the streamed tf.data input vs in-memory arrays, alternated.

Run in a workspace that `prepare` has filled (bench.scale does it at each size). Each side
gets its own model, warmed up by one epoch (tracing); then `--rounds` single epochs are
taken in turn. Prints one JSON line: training examples per second of each side's fastest
epoch, and every epoch's time.

    python -m bench.input_throughput --rounds 3
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from pipeline.core.stats import feature_contract
from pipeline.io.data import read_schema, read_split, split_rows
from pipeline.io.params import load_params


def in_memory(x: dict[str, np.ndarray], y: np.ndarray, batch_size: int, shuffle: bool = True):
    """The split in memory as `fit` takes it: Keras' NumPy adapter refuses text columns, so
    the arrays go through `tf.data.Dataset.from_tensor_slices`, shuffled each epoch."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(
        ({name: tf.constant(v.astype(str)) if v.dtype == object else v for name, v in x.items()}, y)
    )
    if shuffle:
        dataset = dataset.shuffle(len(y), seed=0, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    from pipeline.ml.model import build_model, compile_model, seed_everything
    from pipeline.stages.train import inputs, loss_spec, training_stats

    params = load_params()
    schema = read_schema()
    spec = loss_spec(params, schema)
    seed_everything(params.base.seed)
    stats = training_stats(schema, params.base.seed)
    contract = feature_contract(schema, stats, params.model.embed_above)
    streamed, _ = inputs(params, schema, spec, contract)
    x, y = read_split("train", schema, contract.features)
    memory = in_memory(x, spec.targets(y), params.train.batch_size)
    rows = split_rows("train")

    def fit_streamed(model) -> None:
        model.fit(streamed, epochs=1, shuffle=False, verbose=0)

    def fit_in_memory(model) -> None:
        model.fit(memory, epochs=1, verbose=0)

    sides = {}
    for name, fit in (("tf_data", fit_streamed), ("in_memory", fit_in_memory)):
        model = build_model(contract, spec, params.model, stats.target)
        compile_model(model, spec, params.train)
        fit(model)  # warm-up: tracing and the first pass
        sides[name] = (model, fit)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.rounds):
        for name, (model, fit) in sides.items():
            start = time.perf_counter()
            fit(model)
            times[name].append(time.perf_counter() - start)
    # The fastest epoch of each side: on a shared machine noise only ever adds time.
    print(json.dumps({name: rows / min(t) for name, t in times.items()} | {"rows": rows, "times": times}))


if __name__ == "__main__":
    main()
