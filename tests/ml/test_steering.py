"""The callbacks a search stops a fit with: after the epoch they are told to, and no later."""

from __future__ import annotations

import time

import keras
import numpy as np

from pipeline.ml.steering import Deadline, EpochReport


def tiny_fit(callbacks, epochs=6):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 2)).astype("float32")
    return model.fit(
        x, x.sum(axis=1), validation_data=(x, x.sum(axis=1)), epochs=epochs, verbose=0, callbacks=callbacks
    )


def test_epoch_report_hands_over_each_epoch_and_stops_when_told():
    seen = []

    def judge(epoch, logs):
        seen.append((epoch, sorted(logs)))
        return epoch == 3

    report = EpochReport(judge)
    history = tiny_fit([report])
    assert seen == [(1, ["loss", "val_loss"]), (2, ["loss", "val_loss"]), (3, ["loss", "val_loss"])]
    assert report.stopped_at == 3 and len(history.history["loss"]) == 3


def test_epoch_report_never_stopping_runs_every_epoch():
    report = EpochReport(lambda epoch, logs: False)
    assert len(tiny_fit([report]).history["loss"]) == 6 and report.stopped_at is None


def test_deadline_stops_after_the_epoch_that_passes_it():
    past = Deadline(time.monotonic() - 1)
    assert len(tiny_fit([past]).history["loss"]) == 1 and past.expired
    future = Deadline(time.monotonic() + 3600)
    assert len(tiny_fit([future]).history["loss"]) == 6 and not future.expired
