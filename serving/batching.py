"""Adaptive batching inside one worker: concurrent requests share one model call.

BentoML's own batcher lives in a separate service reached over IPC, which costs a hop on
every request and answers 503 when it predicts a latency overrun (seen here: up to 47 % of
requests at concurrency 32). This one never waits on a timer: a batch is whatever arrived
while the model was busy, so a lone request goes straight through and a burst shares calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pipeline.core.rows import concat, rows_of

Inputs = Mapping[str, np.ndarray]  # the model's named inputs, each (rows, 1): core/rows.py
Call = Callable[[Inputs], np.ndarray]


class Batcher:
    """`await batcher(inputs)` returns `call(inputs)`; concurrent awaits are answered by one call.

    Each input is stacked across the waiting requests in arrival order and the output is split
    back by row counts, so `call` must map each input row to one output row. A batch takes up
    to `max_rows` rows (a request larger than that still goes alone, whole). The model runs in
    one thread beside the event loop, so the loop parses the next requests meanwhile
    (TensorFlow releases the GIL); a lone request with nobody waiting is computed on the loop
    itself.
    """

    def __init__(self, call: Call, max_rows: int) -> None:
        self._call = call
        self._max_rows = max_rows
        self._queue: list[tuple[Inputs, int, asyncio.Future]] = []
        self._draining = False
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="model")
        self.calls = 0  # model calls made: batching shows as calls < requests

    async def __call__(self, inputs: Inputs) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        self._queue.append((inputs, rows_of(inputs), future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                # One turn of the loop: requests already read off their sockets join this batch.
                await asyncio.sleep(0)
                await self._run(self._take())
        finally:
            self._draining = False

    def _take(self) -> list[tuple[Inputs, int, asyncio.Future]]:
        batch: list[tuple[Inputs, int, asyncio.Future]] = []
        rows = 0
        while self._queue and (not batch or rows + self._queue[0][1] <= self._max_rows):
            item = self._queue.pop(0)
            batch.append(item)
            rows += item[1]
        return batch

    async def _run(self, batch: list[tuple[Inputs, int, asyncio.Future]]) -> None:
        self.calls += 1
        inputs = concat([inputs for inputs, _, _ in batch])
        try:
            if len(batch) == 1 and not self._queue:
                out = self._call(inputs)  # nobody waiting: a thread hop would only add latency
            else:  # in a thread, so the loop reads the next requests while the model runs
                out = await asyncio.get_running_loop().run_in_executor(self._thread, self._call, inputs)
        except Exception as exc:  # every waiter learns of it; the worker carries on
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        start = 0
        for _, rows, future in batch:
            if not future.done():  # a client that went away cancelled its future
                future.set_result(out[start : start + rows])
            start += rows
