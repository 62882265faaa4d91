"""How an epoch is fed and stepped: the input path and the batches per call into TensorFlow.

Pure decisions from sizes, so they are tested exactly; pipeline/stages/train.py applies them.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.core.contract import FeatureSpec
from pipeline.core.errors import ConfigMismatchError

MEMORY, STREAM = "memory", "stream"
# `auto` runs at least this many batches per call into TensorFlow (or the whole epoch): there
# the per-call overhead no longer shows at batch 32 (bench/RESULTS.md).
BATCHES_PER_EXECUTION = 256
STRING_BYTES = 32  # a tf.string element: its header plus a short category's bytes


def memory_bytes(rows: int, features: Sequence[FeatureSpec]) -> int:
    """What a split takes held in memory as the model's inputs: float32 numbers, text categories,
    and the target."""
    return rows * (sum(4 if f.is_numeric else STRING_BYTES for f in features) + 8)


def choose_input(setting: str, rows: int, features: Sequence[FeatureSpec], memory_mb: int) -> tuple[str, str]:
    """(`memory` or `stream`, why): `auto` holds the split in memory when it fits `memory_mb`."""
    size_mb = memory_bytes(rows, features) / 2**20
    if setting != "auto":
        return setting, f"train.input = {setting}"
    if size_mb <= memory_mb:
        return MEMORY, f"auto: the training split takes {size_mb:.1f} MB <= train.memory_mb {memory_mb}"
    return STREAM, f"auto: the training split takes {size_mb:.1f} MB > train.memory_mb {memory_mb}"


def steps_per_execution(setting: int | str, steps: int, workers: int = 1) -> int:
    """Batches run per call into TensorFlow, for an epoch of `steps` batches.

    `auto`: the smallest divisor of `steps` from BATCHES_PER_EXECUTION up, or the whole epoch
    when it is shorter; 1 across several workers (check_multi_worker). A divisor, so that every
    call ends on an epoch's edge and the training data can repeat endlessly through one
    iterator (a call that ran past the edge would take the next epoch's batches). A number is
    taken as given; one that does not divide `steps` makes each epoch start a fresh iterator.
    """
    if setting != "auto":
        return int(setting)
    if workers > 1:
        return 1
    wanted = min(steps, BATCHES_PER_EXECUTION)
    return next(d for d in range(wanted, steps + 1) if steps % d == 0)


def check_multi_worker(setting: int | str) -> None:
    """Keras 3.15 cannot run several steps per call across workers: its step loop with the
    gradients' all-reduce inside fails in TensorFlow ("You must feed a value for placeholder
    tensor 'while/body/.../Placeholder'")."""
    if setting != "auto" and int(setting) > 1:
        raise ConfigMismatchError(
            f"train.steps_per_execution = {setting} with train.distribute = multi_worker: Keras "
            "runs one step per call across workers. Fix: set train.steps_per_execution to auto or 1."
        )


def worker_batch(batch_size: int, workers: int) -> int:
    """Each of `workers` steps with its share of the global batch: the same updates per epoch
    as one worker would make, so a result matches one worker's."""
    if batch_size % workers:
        raise ConfigMismatchError(
            f"train.batch_size = {batch_size} does not split evenly over {workers} workers. "
            f"Fix: use a multiple of {workers}."
        )
    return batch_size // workers
