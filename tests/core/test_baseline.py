"""pipeline/core/baseline.py: beats, matches or trails, by how much, in exact figures."""

from __future__ import annotations

import pytest

from pipeline.core.baseline import baseline_metrics, compare


def test_the_baseline_metrics_are_named_with_their_prefix():
    assert baseline_metrics({"accuracy": 0.5, "r2": 0.1}) == {"baseline_accuracy": 0.5, "baseline_r2": 0.1}


def test_no_baseline_recorded_compares_nothing():
    assert compare("binary", {"accuracy": 0.9}, 100) is None


@pytest.mark.parametrize(
    ("model", "baseline", "rows", "outcome", "margin"),
    [
        (34 / 36, 36 / 36, 36, "trails", -2.0),  # the wine case of the issue: two holdout errors
        (35 / 36, 36 / 36, 36, "matches", -1.0),  # one error is within the holdout's noise
        (36 / 36, 35 / 36, 36, "matches", 1.0),
        (0.5, 0.5, 10, "matches", 0.0),
        (110 / 113, 107 / 113, 113, "beats", 3.0),
        (0.964, 0.969, 360, "trails", -2.0),  # 0.005 of 360 rows is 1.8 errors: rounded to 2
    ],
)
def test_classification_is_compared_in_holdout_errors(model, baseline, rows, outcome, margin):
    found = compare("multiclass", {"accuracy": model, "baseline_accuracy": baseline}, rows)
    assert found is not None
    assert (found.outcome, found.margin, found.metric, found.unit) == (
        outcome,
        margin,
        "accuracy",
        "holdout errors",
    )


@pytest.mark.parametrize(
    ("model", "baseline", "outcome", "margin"),
    [
        (0.417, 0.452, "trails", -0.035),
        (0.445, 0.452, "matches", -0.007),
        (0.46, 0.452, "matches", 0.008),
        (0.47, 0.452, "beats", 0.018),
        (0.5, 0.49, "matches", 0.01),  # exactly 0.01 is still a tie
    ],
)
def test_regression_is_compared_in_r2(model, baseline, outcome, margin):
    found = compare("regression", {"r2": model, "baseline_r2": baseline, "accuracy": 0.0}, 50)
    assert found is not None
    assert found.outcome == outcome and found.margin == pytest.approx(margin, abs=1e-12)
    assert found.unit == "R²"


def test_the_lines_say_who_wins_and_by_how_much():
    trails = compare("multiclass", {"accuracy": 34 / 36, "baseline_accuracy": 1.0}, 36)
    assert trails is not None and trails.line() == (
        "the network trails it by 2 holdout errors: accuracy 0.9444 against HistGradientBoosting's "
        "1.0000 on the same holdout split"
    )
    beats = compare("binary", {"accuracy": 1.0, "baseline_accuracy": 110 / 113}, 113)
    assert beats is not None and beats.line().startswith("the network beats it by 3 holdout errors: accuracy")
    one = compare("binary", {"accuracy": 35 / 36, "baseline_accuracy": 1.0}, 36)
    assert one is not None and one.line().startswith(
        "the network matches it (within 1 holdout error: -1 holdout error): accuracy 0.9722"
    )
    r2 = compare("regression", {"r2": 0.417, "baseline_r2": 0.452}, 89)
    assert r2 is not None and r2.line() == (
        "the network trails it by 0.035 R²: r2 0.4170 against HistGradientBoosting's 0.4520 "
        "on the same holdout split"
    )
    tie = compare("regression", {"r2": 0.46, "baseline_r2": 0.452}, 89)
    assert tie is not None and tie.line().startswith("the network matches it (within 0.01 R²: +0.008 R²)")


def test_an_empty_holdout_is_refused():
    with pytest.raises(ValueError, match="holdout_rows = 0"):
        compare("binary", {"accuracy": 1.0, "baseline_accuracy": 1.0}, 0)
