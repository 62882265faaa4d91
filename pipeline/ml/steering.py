"""Callbacks that let a caller stop a short fit: a search's pruner, a time budget.

Both stop the fit quietly (`model.stop_training`) at an epoch's end, so the history up to that epoch
is kept and the caller decides what the stop means (a pruned trial, a rate not finished).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import keras

# (1-based epoch, that epoch's logs) -> True to stop the fit now
EpochJudge = Callable[[int, Mapping[str, float]], bool]


class EpochReport(keras.callbacks.Callback):
    """Hands each epoch's logs to `judge` (an Optuna trial's report and should_prune) and stops the fit
    when it says so; `stopped_at` is the epoch it stopped after, or None."""

    def __init__(self, judge: EpochJudge) -> None:
        super().__init__()
        self._judge = judge
        self.stopped_at: int | None = None

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if self._judge(epoch + 1, dict(logs or {})):
            self.stopped_at = epoch + 1
            self.model.stop_training = True


class Deadline(keras.callbacks.Callback):
    """Stops the fit at the first epoch's end past `deadline` (time.monotonic()): a budget in seconds
    for a series of fits. `expired` says whether it did."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline
        self.expired = False

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        if time.monotonic() >= self.deadline:
            self.expired = True
            self.model.stop_training = True
