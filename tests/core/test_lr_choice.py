"""The learning-rate choice from the curves' verdicts: each rule of core/lr_choice.py, exactly."""

from __future__ import annotations

import math

import pytest

from pipeline.core.config import LR_FIND_MIN_EPOCHS
from pipeline.core.diagnosis import MIN_EPOCHS_TO_JUDGE
from pipeline.core.lr_choice import (
    CUT_SHORT,
    REASONABLE,
    TOO_SLOW,
    UNSTABLE,
    Rung,
    ladder,
    recommend,
    visit_order,
)


def rung(rate: float, verdict: str, best: float = 1.0, epochs: int = 8, planned: int = 8) -> Rung:
    return Rung(rate, verdict, f"{verdict} reason", best, epochs, planned)


def test_the_shortest_fit_is_one_the_diagnosis_judges():
    assert LR_FIND_MIN_EPOCHS == MIN_EPOCHS_TO_JUDGE


def test_ladder_one_and_two_per_decade():
    assert ladder(1e-5, 1e-1, 1) == [1e-05, 0.0001, 0.001, 0.01, 0.1]
    assert ladder(1e-4, 1e-2, 2) == [0.0001, 0.000316, 0.001, 0.00316, 0.01]
    assert ladder(1e-3, 5e-3, 1) == [0.001, 0.005]  # less than a decade: both ends


@pytest.mark.parametrize(("low", "high", "per_decade"), [(0.0, 1.0, 1), (1e-2, 1e-3, 1), (1e-3, 1e-2, 0)])
def test_ladder_refuses_a_wrong_range(low, high, per_decade):
    with pytest.raises(ValueError, match="ladder|per_decade"):
        ladder(low, high, per_decade)


def test_visit_order_starts_at_the_configured_rate_and_goes_outwards():
    rates = [1e-05, 0.0001, 0.001, 0.01, 0.1]
    assert visit_order(rates, 1e-3) == [0.001, 0.0001, 0.01, 1e-05, 0.1]
    assert visit_order(rates, 0.1) == [0.1, 0.01, 0.001, 0.0001, 1e-05]


@pytest.mark.parametrize(
    ("verdict", "epochs", "group"),
    [
        ("diverged", 8, UNSTABLE),
        ("diverged", 2, UNSTABLE),  # stopped early by divergence: still judged
        ("lr_too_high", 8, UNSTABLE),
        ("lr_too_low", 8, TOO_SLOW),
        ("underfitting", 8, TOO_SLOW),
        ("healthy", 8, REASONABLE),
        ("overfitting", 8, REASONABLE),
        ("a_new_verdict", 8, REASONABLE),
        ("healthy", 3, CUT_SHORT),
        ("lr_too_low", 7, CUT_SHORT),
    ],
)
def test_groups(verdict, epochs, group):
    assert rung(1e-3, verdict, epochs=epochs).group == group


def test_the_reasonable_rate_with_the_lowest_validation_loss_wins():
    chosen = recommend(
        [
            rung(1e-5, "lr_too_low", 0.69),
            rung(1e-4, "underfitting", 0.5),
            rung(1e-3, "healthy", 0.2),
            rung(1e-2, "overfitting", 0.1),
            rung(1e-1, "diverged", math.inf),
        ]
    )
    assert (chosen.rate, chosen.rule) == (1e-2, "best")
    assert chosen.reason == (
        "0.01 trained without instability (diagnosis: overfitting) and reached the lowest validation loss, "
        "0.1, of the 2 reasonable rate(s) (next best 0.001); unstable from 0.1, too slow up to 0.0001."
    )


def test_a_tie_goes_to_the_faster_rate_and_an_unstable_lower_loss_does_not_count():
    chosen = recommend(
        [rung(1e-3, "healthy", 0.2), rung(1e-2, "healthy", 0.2), rung(1e-1, "lr_too_high", 0.05)]
    )
    assert chosen.rate == 1e-2
    assert chosen.reason.endswith("(next best 0.001); unstable from 0.1.")


def test_between_the_fastest_slow_and_the_first_unstable_rate():
    chosen = recommend(
        [
            rung(1e-5, "lr_too_low"),
            rung(1e-4, "underfitting"),
            rung(1e-3, "lr_too_high"),
            rung(1e-2, "diverged"),
        ]
    )
    assert (chosen.rate, chosen.rule) == (0.00032, "bracket")
    assert chosen.reason.startswith("no rate was both stable and quick: 0.0001 was too slow (underfitting)")


def test_all_slow_raises_the_fastest_3x():
    chosen = recommend([rung(1e-4, "lr_too_low"), rung(1e-3, "underfitting")])
    assert (chosen.rate, chosen.rule) == (0.003, "raise")
    assert "raise lr_find.max_lr" in chosen.reason


def test_slow_above_unstable_only_raises_too():
    chosen = recommend([rung(1e-5, "lr_too_high"), rung(1e-4, "lr_too_low")])
    assert (chosen.rate, chosen.rule) == (0.0003, "raise")


def test_all_unstable_lowers_the_slowest_10x():
    chosen = recommend([rung(1e-3, "lr_too_high"), rung(1e-2, "diverged")])
    assert (chosen.rate, chosen.rule) == (0.0001, "lower")
    assert "lower lr_find.min_lr" in chosen.reason


def test_fits_cut_short_are_left_out():
    chosen = recommend([rung(1e-3, "healthy", 0.01, epochs=2), rung(1e-4, "healthy", 0.3)])
    assert chosen.rate == 1e-4
    with pytest.raises(ValueError, match="raise lr_find.budget_s"):
        recommend([rung(1e-3, "healthy", epochs=2)])
    with pytest.raises(ValueError, match="no learning rate was judged"):
        recommend([])
