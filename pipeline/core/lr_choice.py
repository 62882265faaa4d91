"""Choosing a learning rate from short fits over a ladder of rates: the Keras workflow's advice made a rule.

The workflow starts from a sensible rate, watches the first epochs, lowers the rate 3-10x when training is
unstable and raises it 2-3x when it is stable but slow. `make lr-find` runs that loop in one go: one short
fit per rate of a ladder, each curve read with the pipeline's own diagnosis (core/diagnosis.py) and put in
one of three groups:

- unstable    the diagnosis says `diverged` or `lr_too_high`: the steps overshoot;
- too slow    `lr_too_low` or `underfitting`: the curve barely moves, or is still high and falling;
- reasonable  anything else (`healthy`, and `overfitting`, which means the rate did its job).

The recommendation, in this order:

1. the reasonable rate with the lowest validation loss;
2. none reasonable, but a too-slow rate below an unstable one: the geometric middle of the fastest slow
   rate and the first unstable rate above it (the two bracket the right one);
3. too slow rates and no unstable one above them: the fastest slow rate raised 3x (and lr_find.max_lr
   is the ladder to extend);
4. every rate unstable: the slowest of them lowered 10x (and lr_find.min_lr to extend).

A fit the time budget cut short (fewer epochs than planned) that did not diverge is left out: too few
epochs say nothing about the trend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

UNSTABLE, TOO_SLOW, REASONABLE, CUT_SHORT = "unstable", "too slow", "reasonable", "cut short"

_GROUPS = {
    "diverged": UNSTABLE,
    "lr_too_high": UNSTABLE,
    "lr_too_low": TOO_SLOW,
    "underfitting": TOO_SLOW,
}

# The workflow's own steps: raise a slow rate 2-3x, lower an unstable one 3-10x.
RAISE_SLOW = 3.0
LOWER_UNSTABLE = 10.0


@dataclass(frozen=True)
class Rung:
    """One learning rate's short fit, as the diagnosis read it."""

    rate: float
    verdict: str  # core/diagnosis.py's verdict of its curve
    reason: str  # the diagnosis' sentence
    best_val_loss: float  # the lowest validation loss of the fit (inf when none was finite)
    epochs: int  # epochs run
    planned_epochs: int  # epochs asked for

    @property
    def group(self) -> str:
        found = _GROUPS.get(self.verdict, REASONABLE)
        if found != UNSTABLE and self.epochs < self.planned_epochs:
            return CUT_SHORT
        return found


@dataclass(frozen=True)
class Recommendation:
    rate: float
    rule: str  # which rule of the module docstring chose it: best | bracket | raise | lower
    reason: str  # one sentence with the figures


def ladder(low: float, high: float, per_decade: int) -> list[float]:
    """Rates from `low` to `high` (both included), `per_decade` to a factor of ten, evenly on a log scale,
    rounded to 3 significant digits (1e-05, 0.0001, ... or 1e-05, 3.16e-05, 0.0001, ...)."""
    if not 0 < low < high:
        raise ValueError(f"the ladder needs 0 < low < high, got low={low:g}, high={high:g}")
    if per_decade < 1:
        raise ValueError(f"per_decade must be >= 1, got {per_decade}")
    steps = max(1, math.ceil(round(math.log10(high / low) * per_decade, 9)))
    ratio = (high / low) ** (1 / steps)
    return [_round(low * ratio**i) for i in range(steps + 1)]


def visit_order(rates: Sequence[float], start: float) -> list[float]:
    """The rates nearest `start` (the configured rate) first, then outwards, so a budget that runs out cuts
    the extremes of the ladder, whose verdict is the easiest to guess, not its middle."""
    return sorted(rates, key=lambda rate: (abs(math.log10(rate / start)), rate))


def recommend(rungs: Sequence[Rung]) -> Recommendation:
    """The rate to train with, by the rules of the module docstring; ValueError when no fit was judged."""
    judged = sorted((r for r in rungs if r.group != CUT_SHORT), key=lambda r: r.rate)
    if not judged:
        raise ValueError(
            "no learning rate was judged: every fit was cut short by the time budget. "
            "Fix: raise lr_find.budget_s, or lower lr_find.epochs or the number of rates."
        )
    reasonable = [r for r in judged if r.group == REASONABLE]
    unstable = [r for r in judged if r.group == UNSTABLE]
    slow = [r for r in judged if r.group == TOO_SLOW]
    context = _context(unstable, slow)
    if reasonable:
        best = min(reasonable, key=lambda r: (r.best_val_loss, -r.rate))
        others = [r for r in reasonable if r is not best]
        runner_up = f" (next best {min(others, key=lambda r: r.best_val_loss).rate:g})" if others else ""
        reason = (
            f"{best.rate:g} trained without instability (diagnosis: {best.verdict}) and reached the "
            f"lowest validation loss, {best.best_val_loss:.4g}, of the {len(reasonable)} reasonable "
            f"rate(s){runner_up}{context}."
        )
        return Recommendation(best.rate, "best", reason)
    if slow and unstable:
        fastest_slow = max(slow, key=lambda r: r.rate)
        above = [r for r in unstable if r.rate > fastest_slow.rate]
        if above:
            first_unstable = min(above, key=lambda r: r.rate)
            rate = _round(math.sqrt(fastest_slow.rate * first_unstable.rate), 2)
            reason = (
                f"no rate was both stable and quick: {fastest_slow.rate:g} was too slow "
                f"({fastest_slow.verdict}) and {first_unstable.rate:g} unstable ({first_unstable.verdict}); "
                f"{rate:g} lies between them. Fix for a sharper answer: raise lr_find.rates_per_decade."
            )
            return Recommendation(rate, "bracket", reason)
    if slow:  # and no unstable rate above the slow ones
        fastest = max(slow, key=lambda r: r.rate)
        rate = _round(fastest.rate * RAISE_SLOW, 2)
        reason = (
            f"no rate was reasonable and none above {fastest.rate:g} unstable; that fastest slow rate "
            f"({fastest.verdict}) raised "
            f"{RAISE_SLOW:g}x to {rate:g}. Fix for a sharper answer: raise lr_find.max_lr."
        )
        return Recommendation(rate, "raise", reason)
    slowest = min(unstable, key=lambda r: r.rate)
    rate = _round(slowest.rate / LOWER_UNSTABLE, 2)
    reason = (
        f"every rate was unstable, the lowest ({slowest.rate:g}) too ({slowest.verdict}); lowered "
        f"{LOWER_UNSTABLE:g}x to {rate:g}. Fix for a sharper answer: lower lr_find.min_lr, and check that "
        "the features and the target are scaled."
    )
    return Recommendation(rate, "lower", reason)


def _context(unstable: Sequence[Rung], slow: Sequence[Rung]) -> str:
    parts = []
    if unstable:
        parts.append(f"unstable from {min(r.rate for r in unstable):g}")
    if slow:
        parts.append(f"too slow up to {max(r.rate for r in slow):g}")
    return "; " + ", ".join(parts) if parts else ""


def _round(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")
