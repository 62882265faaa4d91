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
import statistics
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
    parser.add_argument("--epochs", type=int, default=0, help="compare epoch times of bare fit and the stage")
    parser.add_argument(
        "--today", action="store_true", help="with --epochs: also the stage before its fast epochs"
    )
    args = parser.parse_args()
    if args.epochs:
        print(json.dumps(epoch_sides(args.rounds, args.epochs, args.today)))
        return

    from pipeline.ml.model import build_model, compile_model
    from pipeline.stages.train import inputs

    params, schema, spec, stats, contract = workspace_model_inputs()
    stream = params.train.model_copy(update={"input": "stream", "steps_per_execution": 1})
    streamed, _, settings = inputs(params.model_copy(update={"train": stream}), schema, spec, contract)
    x, y = read_split("train", schema, contract.features)
    memory = in_memory(x, spec.targets(y), params.train.batch_size)
    rows = split_rows("train")

    def fit_streamed(model) -> None:
        model.fit(streamed, epochs=1, steps_per_epoch=settings["steps_per_epoch"], shuffle=False, verbose=0)

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


def workspace_model_inputs():
    """What the train stage builds its model from, for the workspace's prepared splits:
    (params, schema, loss spec, training stats, feature contract), the seed set."""
    from pipeline.ml.model import seed_everything
    from pipeline.stages.train import loss_spec, training_stats

    params = load_params()
    schema = read_schema()
    spec = loss_spec(params, schema)
    seed_everything(params.base.seed)
    stats = training_stats(schema, params.base.seed)
    return params, schema, spec, stats, feature_contract(schema, stats, params.model.embed_above)


# --- Epoch speed: the train stage's epoch against the best-configured bare `model.fit` -------


class EpochClock:
    """Wall time of each epoch, from its start to the end of the last callback's epoch-end work
    (so the stage side pays for its checkpoints, backups and logging). Put it last."""

    def __init__(self) -> None:
        import keras

        class Clock(keras.callbacks.Callback):
            def on_epoch_begin(inner, epoch, logs=None) -> None:
                inner.start = time.perf_counter()

            def on_epoch_end(inner, epoch, logs=None) -> None:
                self.times.append(time.perf_counter() - inner.start)

        self.times: list[float] = []
        self.callback = Clock()


def epoch_sides(rounds: int, epochs: int, today: bool) -> dict:
    """Epoch times of: `bare`, the fastest of Keras' own in-memory inputs and steps_per_execution
    candidates, no callbacks; `stage`, the train stage's input, steps_per_execution and
    callbacks as params set them; `today` (with `today`), the stage as it was before this
    change: streamed input, one batch per call. After a selection pass the sides alternate,
    `epochs` epochs a round; the first epoch of each fit is left out (it builds iterators)."""
    import tempfile
    from pathlib import Path

    import keras

    from pipeline.io.resume import ResumeState
    from pipeline.ml.callbacks import build_callbacks
    from pipeline.ml.model import build_model, compile_model
    from pipeline.stages.train import inputs

    params, schema, spec, stats, contract = workspace_model_inputs()
    batch, rows = params.train.batch_size, split_rows("train")
    x, y = read_split("train", schema, contract.features)
    xv, yv = read_split("val", schema, contract.features)
    y, yv = spec.targets(y), spec.targets(yv)
    text = any(v.dtype == object for v in x.values())
    scratch = Path(tempfile.mkdtemp(prefix="bench-epochs-"))

    def model_with(per_call: int) -> keras.Model:
        model = build_model(contract, spec, params.model, stats.target)
        compile_model(model, spec, params.train, per_call)
        return model

    def fit(model, data, extra: dict, callbacks: list, clock: EpochClock) -> None:
        model.fit(data, epochs=epochs, callbacks=[*callbacks, clock.callback], verbose=0, **extra)

    # Bare candidates: Keras' NumPy adapter (numbers only) and tf.data from the arrays in memory.
    per_epoch = -(-rows // batch)
    # One batch per call is never the fastest at scale, and takes longest to try.
    candidates = sorted({1 if per_epoch <= 2048 else 8, 8, 64, 256, per_epoch} & set(range(1, per_epoch + 1)))
    bare_inputs = {
        "tf.data from_tensor_slices": (
            lambda: in_memory(x, y, batch),
            {"validation_data": in_memory(xv, yv, batch, shuffle=False)},
        )
    }
    if not text:
        bare_inputs["NumPy arrays"] = (lambda: x, {"y": y, "batch_size": batch, "validation_data": (xv, yv)})
    trials = {}
    for name, (data, extra) in bare_inputs.items():
        for per_call in candidates:
            clock = EpochClock()
            fit(model_with(per_call), data(), extra, [], clock)
            trials[(name, per_call)] = min(clock.times[1:])
    best_input, best_per_call = min(trials, key=trials.get)

    def stage_side(kind: str, per_call: int):
        section = params.train.model_copy(update={"input": kind, "steps_per_execution": per_call})
        train_data, val_data, fit_settings = inputs(
            params.model_copy(update={"train": section}), schema, spec, contract
        )
        state = ResumeState(kind + str(per_call), scratch / kind)
        callbacks = build_callbacks(
            params.train, scratch / f"{kind}.weights.h5", state.append, state.backup_dir
        )
        extra = {
            "validation_data": val_data,
            "shuffle": False,
            "steps_per_epoch": fit_settings["steps_per_epoch"],
        }
        return model_with(fit_settings["steps_per_execution"]), train_data, extra, callbacks

    data, extra = bare_inputs[best_input]
    sides = {
        "bare": (model_with(best_per_call), data(), extra, []),
        "stage": stage_side(params.train.input, params.train.steps_per_execution),
    }
    if today:
        sides["today"] = stage_side("stream", 1)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, (model, data_, extra_, callbacks) in sides.items():
            clock = EpochClock()
            fit(model, data_, extra_, callbacks, clock)
            times[name] += clock.times[1:]
    return {
        "rows": rows,
        "batch_size": batch,
        "bare_config": f"{best_input}, steps_per_execution={best_per_call}",
        "trials": {f"{n} spe={s}": round(t, 4) for (n, s), t in trials.items()},
        "stage_config": f"input {params.train.input}, steps_per_execution {params.train.steps_per_execution}",
        "median": {name: statistics.median(t) for name, t in times.items()},
        "times": times,
    }


if __name__ == "__main__":
    main()
