"""tf.data over streamed blocks: every row once per epoch, batches as Keras' own, a fresh pass
(so a fresh shuffle) each epoch, text columns beside numbers."""

import numpy as np

from pipeline.core.contract import CATEGORICAL, NUMERIC, FeatureSpec
from pipeline.core.tasks import BINARY, MULTICLASS, choose_loss
from pipeline.ml.inputs import block_dataset, memory_dataset, ordered_dataset

FEATURES = [FeatureSpec("n", NUMERIC, "n"), FeatureSpec("c", CATEGORICAL, "c")]


def blocks_of(sizes: list[int], calls: list[int]):
    def blocks():
        calls.append(1)
        start = 0
        for size in sizes:
            rows = np.arange(start, start + size)
            yield (
                {
                    "n": rows.astype("float32").reshape(-1, 1),
                    "c": np.array([f"r{r}" for r in rows], dtype=object).reshape(-1, 1),
                },
                rows % 3,
            )
            start += size

    return blocks


def test_blocks_are_cut_into_batches_across_their_edges_and_reread_each_epoch():
    calls: list[int] = []
    dataset = block_dataset(
        blocks_of([10, 10, 5], calls), rows=25, features=FEATURES, spec=choose_loss(BINARY, 2), batch_size=4
    )
    assert int(dataset.cardinality()) == 7
    for _ in range(2):
        batches = [(x, y.numpy()) for x, y in dataset]
        assert [len(y) for _, y in batches] == [4, 4, 4, 4, 4, 4, 1]
        assert np.concatenate([x["n"].numpy()[:, 0] for x, _ in batches]).tolist() == list(range(25))
        assert batches[0][0]["c"].numpy()[:, 0].tolist() == [b"r0", b"r1", b"r2", b"r3"]
    assert len(calls) == 2


def test_one_hot_targets_are_made_per_block():
    spec = choose_loss(MULTICLASS, 3, label_encoding="one_hot")
    _, y = next(iter(block_dataset(blocks_of([5], []), rows=5, features=FEATURES, spec=spec, batch_size=5)))
    assert y.numpy().tolist() == np.eye(3)[[0, 1, 2, 0, 1]].tolist()


def memory_inputs(rows: int):
    return {
        "n": np.arange(rows, dtype="float32").reshape(-1, 1),
        "c": np.array([f"r{r}" for r in range(rows)], dtype=object).reshape(-1, 1),
    }, np.arange(rows) % 2


def test_a_split_in_memory_is_gathered_in_each_passes_order():
    x, y = memory_inputs(10)
    orders = iter([np.arange(10)[::-1], np.arange(10)])
    dataset = memory_dataset(x, y, lambda: next(orders), batch_size=4, rows=10)
    assert int(dataset.cardinality()) == 3
    first = [(b["n"].numpy()[:, 0].tolist(), t.numpy().tolist()) for b, t in dataset]
    assert first == [([9, 8, 7, 6], [1, 0, 1, 0]), ([5, 4, 3, 2], [1, 0, 1, 0]), ([1, 0], [1, 0])]
    second = [b["c"].numpy()[:, 0].tolist() for b, _ in dataset]
    assert second[0] == [b"r0", b"r1", b"r2", b"r3"]


def test_a_repeating_split_in_memory_runs_pass_after_pass_through_one_iterator():
    x, y = memory_inputs(6)
    passes = []

    def order():
        passes.append(len(passes))
        return np.roll(np.arange(6), len(passes))

    dataset = memory_dataset(x, y, order, batch_size=3, rows=6, repeat=True)
    batches = [b["n"].numpy()[:, 0].tolist() for b, _ in dataset.take(4)]
    assert batches == [[5, 0, 1], [2, 3, 4], [4, 5, 0], [1, 2, 3]]
    assert len(passes) >= 2


def test_validation_in_memory_keeps_its_order():
    x, y = memory_inputs(5)
    batches = [t.numpy().tolist() for _, t in ordered_dataset(x, y, batch_size=2)]
    assert batches == [[0, 1], [0, 1], [0]]
