"""Adaptive batching inside one worker: concurrent requests share one model call.

BentoML's own batcher lives in a separate service reached over IPC, which costs a hop on
every request and answers 503 when it predicts a latency overrun (seen here: up to 47 % of
requests at concurrency 32). This one never waits on a timer: a batch is whatever arrived
while the model was busy, so a lone request goes straight through and a burst shares calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

Call = Callable[[np.ndarray], np.ndarray]


class Batcher:
    """`await batcher(x)` returns `call(x)`; concurrent awaits are answered by one call.

    Rows are stacked in arrival order and the output is split back by row counts, so `call`
    must map each input row to one output row. A batch takes up to `max_rows` rows (a request
    larger than that still goes alone, whole). The model runs in one thread beside the event
    loop, so the loop parses the next requests meanwhile (TensorFlow releases the GIL); a
    lone request with nobody waiting is computed on the loop itself.
    """

    def __init__(self, call: Call, max_rows: int) -> None:
        self._call = call
        self._max_rows = max_rows
        self._queue: list[tuple[np.ndarray, asyncio.Future]] = []
        self._draining = False
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="model")
        self.calls = 0  # model calls made: batching shows as calls < requests

    async def __call__(self, x: np.ndarray) -> np.ndarray:
        future = asyncio.get_running_loop().create_future()
        self._queue.append((x, future))
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

    def _take(self) -> list[tuple[np.ndarray, asyncio.Future]]:
        batch, rows = [], 0
        while self._queue and (not batch or rows + len(self._queue[0][0]) <= self._max_rows):
            item = self._queue.pop(0)
            batch.append(item)
            rows += len(item[0])
        return batch

    async def _run(self, batch: list[tuple[np.ndarray, asyncio.Future]]) -> None:
        self.calls += 1
        x = np.concatenate([x for x, _ in batch]) if len(batch) > 1 else batch[0][0]
        try:
            if len(batch) == 1 and not self._queue:
                out = self._call(x)  # nobody waiting: a thread hop would only add latency
            else:  # in a thread, so the loop reads the next requests while the model runs
                out = await asyncio.get_running_loop().run_in_executor(self._thread, self._call, x)
        except Exception as exc:  # every waiter learns of it; the worker carries on
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        start = 0
        for x, future in batch:
            if not future.done():  # a client that went away cancelled its future
                future.set_result(out[start:start + len(x)])
            start += len(x)
