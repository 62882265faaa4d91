"""bench/histories.py: the labels come from the provocation, and the saved set scores as the tests say."""

from __future__ import annotations

import json

from bench.histories import CASES, HISTORIES, expected, params_for, score


def test_labels_are_fixed_by_the_provocation():
    assert expected("lr_too_high", None) == "lr_too_high"
    assert expected("lr_too_high", "the training loss exploded") == "diverged"  # the guard's word
    assert expected("noisy_validation", None) == "healthy"
    assert {label for _, label in CASES.values()} == {
        "healthy",
        "lr_too_high",
        "lr_too_low",
        "overfitting",
        "underfitting",
    }


def test_the_provoking_params_are_valid_pipeline_params():
    for overrides, _ in CASES.values():
        params = params_for("wine", overrides, seed=3)
        assert params.base.seed == 3 and params.data.path == "data/raw/wine.csv"
    overfit = params_for("wine", CASES["overfitting"][0])
    assert (overfit.model.dropout, overfit.train.early_stopping.patience) == (0.0, 10_000)


def test_the_saved_set_scores_every_history(tmp_path):
    right, total, misses = score(HISTORIES)
    assert (right, total, misses) == (30, 30, [])
    record = json.loads((HISTORIES / "wine-healthy.json").read_text())
    record["label"] = "overfitting"  # a wrong label is reported as a miss, with the verdict's reason
    (tmp_path / "wine-healthy.json").write_text(json.dumps(record))
    right, total, misses = score(tmp_path)
    assert (right, total) == (0, 1) and misses[0].startswith("wine-healthy: healthy (labelled overfitting): ")
