"""The tf.distribute strategy, created first thing in a training process.

MultiWorkerMirroredStrategy configures TensorFlow's collective ops, which TensorFlow allows
only before it has run any op ("Collective ops must be configured at program startup"):
the train stage calls `start` before it reads data into tensors, seeds or builds anything.
"""

from __future__ import annotations

from pipeline.core.cluster import Cluster


def start(kind: str, cluster: Cluster, timeout_s: int):
    """The strategy params ask for. Under multi_worker every collective (the gradients'
    all-reduce) gives up after `timeout_s`: a worker that died fails the others' run with a
    DeadlineExceeded error instead of leaving them waiting forever."""
    import tensorflow as tf

    if kind == "multi_worker" and cluster.workers > 1:
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=float(timeout_s))
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    if kind == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
