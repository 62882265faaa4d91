"""Replaying a request log through another model's call: labels changed, differences, latency,
requests it cannot score; and the pure summary on hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.core import replay
from pipeline.core.contract import CATEGORICAL, NUMERIC, Contract, FeatureSpec
from pipeline.ml.replay import replay_log, tags
from serving.request_log import RequestLog

CONTRACT = Contract(
    features=[
        FeatureSpec("x", NUMERIC, "x", median=0.0, mean=0.0, variance=1.0),
        FeatureSpec("k", CATEGORICAL, "k", categories=["a", "b"], encoding="one_hot"),
    ],
    target="y",
    task="binary",
    class_labels=["no", "yes"],
)


def served(p_yes: float) -> dict:
    return {"label": "yes" if p_yes >= 0.5 else "no", "probabilities": {"no": 1 - p_yes, "yes": p_yes}}


def test_differences_and_summary_by_hand():
    diff, changed = replay.differences([served(0.4), served(0.9)], [served(0.6), served(0.8)])
    np.testing.assert_allclose(diff, [0.2, -0.1])
    assert changed.tolist() == [True, False]
    three = {"label": "a", "probabilities": {"a": 0.5, "b": 0.3, "c": 0.2}}
    moved = {"label": "a", "probabilities": {"a": 0.45, "b": 0.1, "c": 0.45}}
    assert replay.differences([three], [moved])[0].tolist() == pytest.approx([0.25])  # c moved most
    values, none = replay.differences([{"value": 1.0}], [{"value": 3.5}])
    assert values.tolist() == [2.5] and none is None
    out = replay.summary([diff], [changed], True)
    assert out["records"] == 2 and out["labels_changed"] == 1 and out["labels_changed_share"] == 0.5
    assert out["difference"]["mean"] == pytest.approx(0.05) and out["difference"]["max_abs"] == pytest.approx(
        0.2
    )
    assert out["difference"]["q0.5"] == pytest.approx(0.05)
    empty = replay.summary([], [], True)
    assert (
        empty["records"] == 0
        and empty["labels_changed_share"] is None
        and empty["difference"]["mean"] is None
    )
    assert "labels_changed" not in replay.summary([values], [], False)


def test_replay_log_scores_each_request_as_the_service_would(tmp_path):
    log = RequestLog(tmp_path)
    # logit x: p_yes = sigmoid(x); served answers were p_yes = 0.5 everywhere
    log.record(
        {
            "version": "1",
            "latency_ms": 2.0,
            "records": [{"x": 0.0, "k": "a"}, {"x": 2.0, "k": "b"}],
            "predictions": [served(0.5), served(0.5)],
        }
    )
    log.record(
        {"version": "1", "latency_ms": 3.0, "records": [{"x": -2.0, "k": None}], "predictions": [served(0.5)]}
    )
    log.record({"version": "2", "records": [{"k": "a"}], "predictions": [served(0.5)]})  # no x: unscorable
    log.record(
        {"version": "2", "records": [{"x": "tall", "k": "a"}], "predictions": [served(0.5)]}
    )  # bad value
    log.close()

    def call(inputs):
        return inputs["x"].astype("float32").reshape(-1, 1)

    out = replay_log(tmp_path, call, CONTRACT, 0.5)
    sigmoid2 = 1 / (1 + math.exp(-2))
    assert (out["requests"], out["records"], out["unscorable_records"]) == (4, 3, 2)
    assert out["served_versions"] == ["1", "2"]
    assert out["labels_changed"] == 1  # -2 -> "no"; 0 -> 0.5 -> "yes" as served; 2 -> "yes"
    assert out["difference"]["max_abs"] == pytest.approx(sigmoid2 - 0.5, rel=1e-6)
    assert out["latency_ms"]["served_p50"] == 2.5 and len(out["slowest"]) == 2
    assert "column(s) ['x']" in out["unscorable_reasons"][0] and "x" in out["unscorable_reasons"][1]
    recorded = tags(out)
    assert recorded["replay.records"] == 3 and recorded["replay.labels_changed_share"] == pytest.approx(1 / 3)
