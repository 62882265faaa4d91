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


def distributed(strategy, dataset):
    """A worker's dataset, already its shard in per-worker batches, handed to tf.distribute as
    it is (`experimental_distribute_dataset` would split every batch among the replicas)."""
    return strategy.distribute_datasets_from_function(lambda _: dataset)


def build_before_fit(model, strategy, element_spec) -> None:
    """Build the compiled metrics and loss from the inputs' spec, before `fit`.

    Keras 3.15's `fit` under a strategy builds them from a first batch it averages across the
    replicas (`strategy.reduce("MEAN", batch)`), which fails for a dict of inputs and for text
    ("Attempt to convert a value ({...: PerReplica ...}) ... to a Tensor"). Built here from
    the spec, that step has nothing left to do, and it is skipped.
    """
    with strategy.scope():
        model._symbolic_build(data_batch=element_spec)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    # Keras' `auto` reduction averages each scalar metric across workers along an axis it
    # does not have ("Invalid reduction dimension 0"); the metrics' variables are already
    # summed across replicas, so each worker's own copy is the result.
    model.distribute_reduction_method = "first"
