"""The order in which an epoch visits the training rows, as plain indices.

The streamed input (`io/data.py:split_blocks`) shuffles row groups, then the rows of each
window of them; the in-memory input must visit the same rows in the same order, so that
choosing one or the other for speed never changes the model. Both draw from one generator
seeded by (seed, epoch), in the same sequence of calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def epoch_order(group_rows: Sequence[int], shuffle: Sequence[int] | None, window_rows: int) -> np.ndarray:
    """Row indices (into the file's order) for one epoch.

    `group_rows`: the rows of each row group in file order; `shuffle`: the (seed, epoch)
    seed, or None for file order; `window_rows`: the rows shuffled together (SHUFFLE_ROWS).
    """
    starts = np.concatenate([[0], np.cumsum(group_rows, dtype=np.int64)])
    if shuffle is None:
        return np.arange(starts[-1], dtype=np.int64)
    rng = np.random.default_rng(list(shuffle))
    parts: list[np.ndarray] = []
    window: list[np.ndarray] = []

    def flush() -> None:
        if window:
            rows = np.concatenate(window)
            window.clear()
            parts.append(rows[rng.permutation(len(rows))])

    for index in rng.permutation(len(group_rows)):
        window.append(np.arange(starts[index], starts[index + 1], dtype=np.int64))
        if sum(len(w) for w in window) >= window_rows:
            flush()
    flush()
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def shard(order: np.ndarray, workers: int, index: int) -> np.ndarray:
    """Worker `index`'s share of an epoch's rows: every `workers`-th row of the order, cut to
    the same count on every worker (they step together; a worker with one more batch would
    wait forever for the others). At most `workers - 1` rows an epoch are left out."""
    per_worker = len(order) // workers
    return order[index::workers][:per_worker]
