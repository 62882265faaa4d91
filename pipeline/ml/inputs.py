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
