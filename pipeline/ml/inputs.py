"""Feeding Keras from the prepared splits with tf.data: streamed, batched, prefetched.

The rows come as blocks from a Python iterator (the parquet split read row group by row
group); tf.data cuts them into batches and keeps the next ones ready while the model
trains, so a split larger than memory trains at the speed of one in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import tensorflow as tf

from pipeline.core.contract import FeatureSpec
from pipeline.core.tasks import REGRESSION, LossSpec

Blocks = Callable[[], Iterator[tuple[dict[str, np.ndarray], np.ndarray]]]


def block_dataset(
    blocks: Blocks, rows: int, features: Sequence[FeatureSpec], spec: LossSpec, batch_size: int
) -> tf.data.Dataset:
    """Batches of (features, targets as the loss takes them) from `blocks()`, called anew for
    every pass (epoch), so a shuffling source reshuffles each time.

    The cardinality is declared, so Keras knows the steps of an epoch from the first one.
    """

    def generate() -> Iterator[tuple[dict[str, np.ndarray], np.ndarray]]:
        for x, y in blocks():
            yield x, spec.targets(y)

    if spec.one_hot:
        target = tf.TensorSpec([None, spec.output_units], tf.float32)
    else:
        target = tf.TensorSpec([None], tf.float32 if spec.task == REGRESSION else tf.int64)
    inputs = {f.input: tf.TensorSpec([None, 1], tf.float32 if f.is_numeric else tf.string) for f in features}
    dataset = tf.data.Dataset.from_generator(generate, output_signature=(inputs, target))
    dataset = dataset.rebatch(batch_size).prefetch(tf.data.AUTOTUNE)
    return dataset.apply(tf.data.experimental.assert_cardinality(math.ceil(rows / batch_size)))


def memory_dataset(
    x: dict[str, np.ndarray],
    targets: np.ndarray,
    orders: Callable[[], np.ndarray],
    batch_size: int,
    rows: int,
    repeat: bool = False,
) -> tf.data.Dataset:
    """Batches of a split held in memory, in the row order `orders()` gives anew each pass.

    The columns are constants; an epoch's order is cut into batches of indices and each batch
    gathered in one vectorised step, as Keras' own array adapter does (its NumPy path refuses
    text columns, and slicing row by row is several times slower at scale). `rows`: what
    `orders()` returns each time. `repeat`: one endless pass after another, so that Keras
    keeps one iterator for the whole fit (`steps_per_epoch`): a fresh iterator per epoch
    costs 50-100 ms here (tf.data instantiates the gather function anew), more than a small
    table's whole epoch. Otherwise the cardinality of one pass is declared.
    """
    columns = {name: tf.constant(values) for name, values in x.items()}
    target = tf.constant(targets)
    full, rest = divmod(rows, batch_size)

    def batches(order: tf.Tensor) -> tf.data.Dataset:
        head = tf.data.Dataset.from_tensor_slices(tf.reshape(order[: full * batch_size], [full, batch_size]))
        return head.concatenate(tf.data.Dataset.from_tensors(order[full * batch_size :])) if rest else head

    def gather(index: tf.Tensor):
        return {name: tf.gather(column, index) for name, column in columns.items()}, tf.gather(target, index)

    def passes() -> Iterator[np.ndarray]:
        while True:
            yield orders()
            if not repeat:
                return

    order = tf.data.Dataset.from_generator(passes, output_signature=tf.TensorSpec([rows], tf.int64))
    dataset = order.flat_map(batches).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    if repeat:
        return dataset
    return dataset.apply(tf.data.experimental.assert_cardinality(math.ceil(rows / batch_size)))


def ordered_dataset(x: dict[str, np.ndarray], targets: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """A split held in memory, in its order (validation): plain slices of constants, the
    cheapest pipeline to start anew each epoch, as Keras does for validation data."""
    dataset = tf.data.Dataset.from_tensor_slices(({name: tf.constant(v) for name, v in x.items()}, targets))
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
