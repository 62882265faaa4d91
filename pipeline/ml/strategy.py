"""The tf.distribute strategy, created first thing in a training process.

MultiWorkerMirroredStrategy configures TensorFlow's collective ops, which TensorFlow allows
only before it has run any op ("Collective ops must be configured at program startup"):
the train stage calls `start` before it reads data into tensors, seeds or builds anything.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from pipeline.core.cluster import Cluster
from pipeline.core.errors import WorkerLost


def start(kind: str, cluster: Cluster, timeout_s: int):
    """The strategy params ask for. Under multi_worker every collective (the gradients'
    all-reduce) gives up after `timeout_s`: a worker that died fails the others' run with a
    DeadlineExceeded error instead of leaving them waiting forever."""
    tf = import_tensorflow()
    if kind == "multi_worker" and cluster.workers > 1:
        options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=float(timeout_s))
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    if kind == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def import_tensorflow():
    """TensorFlow, imported without scikit-learn when neither is loaded yet.

    Keras imports scikit-learn at import time whenever it is installed, only to offer its
    scikit-learn wrappers, which training never uses; scikit-learn imports SciPy's stats with it:
    0.5-1.2 s of every training process's start-up (`python -X importtime`). Blocked for the
    import alone, Keras falls back as it does without scikit-learn (in this process its
    `SKLearnClassifier` says scikit-learn is missing), and scikit-learn stays importable
    afterwards (a process that trains, then evaluates, imports it then)."""
    if "keras" in sys.modules or "sklearn" in sys.modules:
        import tensorflow as tf

        return tf
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # `import sklearn` raises ImportError
    try:
        import keras  # noqa: F401  # its wrappers are what must load now, not TensorFlow's lazy `tf.keras`
        import tensorflow as tf
    finally:
        del sys.modules["sklearn"]
    return tf


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
    _average_scalars_across_workers()


def _average_scalars_across_workers() -> None:
    """Keras 3.15 averages each step's metrics across workers with `strategy.reduce("MEAN", v,
    axis=0)`, hard-coded; the metrics are scalars, so every multi-worker `fit` fails ("Invalid
    reduction dimension 0 for input with 0 dimensions"). Averaged without an axis instead:
    every worker holds as many rows as the others (core/epoch_order.py:shard), so the mean
    of the workers' means is the mean over all rows, and every worker logs the same value
    (their callbacks then decide alike: early stopping, the learning rate, divergence)."""
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer.reduce_per_replica, "averages_scalars", False):
        return
    keras_reduce = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(strategy):
            import tensorflow as tf

            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return keras_reduce(values, strategy, reduction)

    reduce_per_replica.averages_scalars = True  # type: ignore[attr-defined]
    trainer.reduce_per_replica = reduce_per_replica


@contextmanager
def peers_watched(cluster: Cluster) -> Iterator[None]:
    """A lost peer as one clear error: TensorFlow reports a worker that died (or stopped
    answering for `train.worker_timeout_s`) as an Unavailable, Internal, Aborted or
    DeadlineExceeded error deep in a collective; the run fails with what to do instead."""
    import tensorflow as tf

    lost = (
        tf.errors.UnavailableError,
        tf.errors.InternalError,
        tf.errors.AbortedError,
        tf.errors.DeadlineExceededError,
    )
    try:
        yield
    except lost as exc:
        if cluster.workers == 1:
            raise
        first = next((line for line in str(exc.message).splitlines() if line.strip()), "")
        raise WorkerLost(
            f"{cluster.role} of {cluster.workers}: a worker stopped answering ({type(exc).__name__}: "
            f"{first[:300]}). The run failed; the chief's backup keeps the last finished epoch. "
            "Fix: read the lost worker's log, then start every worker again with the same TF_CONFIG "
            "to resume."
        ) from None
