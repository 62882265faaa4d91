"""core/epochs.py and core/epoch_order.py: how an epoch is fed and stepped, exactly."""

import numpy as np
import pytest

from pipeline.core.contract import CATEGORICAL, NUMERIC, FeatureSpec
from pipeline.core.epoch_order import epoch_order, shard
from pipeline.core.epochs import (
    check_multi_worker,
    choose_input,
    memory_bytes,
    steps_per_execution,
    worker_batch,
)
from pipeline.core.errors import ConfigMismatchError

FEATURES = [
    FeatureSpec("n", NUMERIC, "n"),
    FeatureSpec("m", NUMERIC, "m"),
    FeatureSpec("c", CATEGORICAL, "c"),
]


def test_memory_bytes_counts_numbers_text_and_the_target():
    assert memory_bytes(1000, FEATURES) == 1000 * (4 + 4 + 32 + 8)


def test_auto_holds_a_split_in_memory_when_it_fits_and_a_setting_wins():
    assert choose_input("auto", 1000, FEATURES, memory_mb=1) == (
        "memory",
        "auto: the training split takes 0.0 MB <= train.memory_mb 1",
    )
    path, why = choose_input("auto", 100_000, FEATURES, memory_mb=1)
    assert path == "stream" and why == "auto: the training split takes 4.6 MB > train.memory_mb 1"
    assert choose_input("stream", 10, FEATURES, 1024) == ("stream", "train.input = stream")
    assert choose_input("memory", 10**9, FEATURES, 1) == ("memory", "train.input = memory")


@pytest.mark.parametrize(
    ("setting", "steps", "expected"),
    [
        ("auto", 12, 12),  # a short epoch: one call
        ("auto", 256, 256),
        ("auto", 1563, 521),  # 3 x 521: the smallest divisor from 256 up
        ("auto", 1567, 1567),  # a prime: the whole epoch
        ("auto", 31250, 625),  # 2 x 5^6: divisors 250, 625 -> 625 is the first from 256
        (8, 12, 8),  # a number as given (the stage then restarts the iterator each epoch)
        (1, 1, 1),
    ],
)
def test_steps_per_execution_divides_the_epoch_under_auto(setting, steps, expected):
    assert steps_per_execution(setting, steps) == expected


def test_several_workers_step_once_per_call():
    assert steps_per_execution("auto", 1563, workers=2) == 1
    check_multi_worker("auto")
    check_multi_worker(1)
    with pytest.raises(
        ConfigMismatchError, match="train.steps_per_execution = 8 with train.distribute = multi_worker"
    ):
        check_multi_worker(8)


def test_the_global_batch_is_split_evenly_over_workers():
    assert worker_batch(32, 2) == 16
    with pytest.raises(
        ConfigMismatchError, match="train.batch_size = 33 does not split evenly over 2 workers"
    ):
        worker_batch(33, 2)


def test_an_epoch_order_is_a_permutation_per_seed_and_file_order_without_one():
    order = epoch_order([3, 4, 5], (0, 1), window_rows=100)
    assert sorted(order.tolist()) == list(range(12)) and order.tolist() != list(range(12))
    assert order.tolist() == epoch_order([3, 4, 5], (0, 1), 100).tolist()
    assert order.tolist() != epoch_order([3, 4, 5], (0, 2), 100).tolist()
    assert epoch_order([3, 4], None, 1).tolist() == list(range(7))
    assert epoch_order([], (0, 0), 10).tolist() == []


def test_shards_are_disjoint_and_equal_in_size():
    order = np.arange(11)
    shards = [shard(order, 3, i).tolist() for i in range(3)]
    assert shards == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]  # 2 rows an epoch left out, never a worker idle
    assert shard(order, 1, 0).tolist() == list(range(11))
