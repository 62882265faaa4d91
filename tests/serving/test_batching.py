"""The in-worker batcher: concurrent requests share model calls, each gets its own rows back."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from serving.batching import Batcher


class Recorder:
    """A stand-in model over named inputs as the service builds them (a number and a category):
    answers (2 * x, length of the category) per row and remembers each batch's row count."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[int] = []
        self.fail = fail

    def __call__(self, inputs: dict[str, np.ndarray]) -> np.ndarray:
        assert set(inputs) == {"x", "colour"}
        assert len(inputs["x"]) == len(inputs["colour"])
        self.batches.append(len(inputs["x"]))
        if self.fail:
            raise RuntimeError("model exploded")
        lengths = np.array([[len(c)] for c in inputs["colour"].ravel()], dtype="float32")
        return np.hstack([inputs["x"] * 2, lengths])


def rows(start: int, n: int) -> dict[str, np.ndarray]:
    return {
        "x": np.arange(start, start + n, dtype="float32").reshape(n, 1),
        "colour": np.array(["r" * (start + i) for i in range(n)], dtype=object).reshape(n, 1),
    }


def expected(inputs: dict[str, np.ndarray]) -> np.ndarray:
    lengths = [[len(c)] for c in inputs["colour"].ravel()]
    return np.hstack([inputs["x"] * 2, np.array(lengths, dtype="float32")])


def run_concurrently(batcher: Batcher, inputs: list[dict[str, np.ndarray]]) -> list:
    async def go():
        return await asyncio.gather(*(batcher(x) for x in inputs), return_exceptions=True)

    return asyncio.run(go())


def test_concurrent_requests_share_one_call_and_get_their_own_rows():
    model = Recorder()
    inputs = [rows(0, 1), rows(10, 3), rows(20, 2)]
    outputs = run_concurrently(Batcher(model, max_rows=100), inputs)
    assert model.batches == [6]
    for x, y in zip(inputs, outputs):
        np.testing.assert_array_equal(y, expected(x))
    assert outputs[1].tolist() == [[20.0, 10.0], [22.0, 11.0], [24.0, 12.0]]


def test_a_batch_never_exceeds_max_rows_but_a_large_request_goes_whole():
    model = Recorder()
    inputs = [rows(0, 2), rows(2, 2), rows(4, 2), rows(6, 5)]
    outputs = run_concurrently(Batcher(model, max_rows=4), inputs)
    assert model.batches == [4, 2, 5]
    for x, y in zip(inputs, outputs):
        np.testing.assert_array_equal(y, expected(x))


def test_sequential_requests_are_answered_one_call_each():
    model = Recorder()
    batcher = Batcher(model, max_rows=100)

    async def one_by_one():
        return [await batcher(rows(i, 1)) for i in range(3)]

    outputs = asyncio.run(one_by_one())
    assert model.batches == [1, 1, 1]
    assert [y.tolist() for y in outputs] == [[[0.0, 0.0]], [[2.0, 1.0]], [[4.0, 2.0]]]


def test_a_failing_call_reaches_every_waiter_and_the_batcher_recovers():
    model = Recorder(fail=True)
    batcher = Batcher(model, max_rows=100)
    outputs = run_concurrently(batcher, [rows(0, 1), rows(1, 1)])
    assert [type(o) for o in outputs] == [RuntimeError, RuntimeError]
    model.fail = False
    np.testing.assert_array_equal(run_concurrently(batcher, [rows(5, 1)])[0], [[10.0, 5.0]])


def test_a_lone_request_is_passed_as_it_came():
    seen = []
    batcher = Batcher(lambda inputs: seen.append(inputs) or inputs["x"], max_rows=100)
    request = rows(3, 2)
    run_concurrently(batcher, [request])
    assert seen[0]["x"] is request["x"] and seen[0]["colour"] is request["colour"]


@pytest.mark.parametrize("n", [1, 7])
def test_calls_counter(n):
    batcher = Batcher(Recorder(), max_rows=100)
    run_concurrently(batcher, [rows(0, 1)] * n)
    assert batcher.calls == 1
