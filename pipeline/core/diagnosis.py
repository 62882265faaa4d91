"""Reading a Keras training History the way the Keras workflow teaches: what went wrong, and the fix.

The train stage calls `diagnose` once training ends, with what the callbacks did (the epoch
EarlyStopping ended the run, the divergence guard's message, the epoch whose weights are kept);
the result is written as JSON, tagged on the MLflow run and printed, so a user sees at a glance
whether to change a param before the next experiment. `python -m bench.histories --score` measures
it on histories of real fits provoked to show each failure (tests/core/histories/).

Every figure is relative (to a curve's own first value, minimum or improvement), so the scale of
the loss never changes a verdict: a regression on targets in the hundreds of thousands reads like
one on targets near 1. Rules are checked in this order and the first that matches wins:

1. diverged      the divergence guard stopped the run, or a NaN/inf is in the training or validation
                 loss, or the training loss ended more than EXPLODING_FACTOR times its first value.
2. lr_too_high   the training loss is unstable: it ended above where it started, or it spiked (rose by
                 more than TRAIN_SPIKE of itself and by more than SPIKE_OF_RANGE of its whole
                 improvement in one epoch).
3. overfitting   the validation loss bottomed out at least OVERFIT_MIN_EPOCHS_AFTER_BEST epochs before
                 the end, ended at least OVERFIT_MIN_RISE above that minimum and GENERALISATION_GAP above
                 the final training loss, and the training loss kept falling. Checked before the
                 validation-only signs of rule 4: a validation loss that climbs for 150 epochs jumps by
                 half now and then without any instability of the optimiser.
4. lr_too_high   the validation loss is unstable: its spikes that fall back (a rise followed by a fall,
                 counted as the smaller of the two) add up to VAL_JITTER of its improvement, or it
                 rebounded from its minimum by OVERFIT_MIN_RISE and by REBOUND_OF_RANGE of its
                 improvement with no generalisation gap: a run knocked out of a good minimum (a
                 learning rate of 0.3 collapses a digits model to the constant predictor this way).
5. lr_too_low    both losses are nearly flat: each fell by less than FLAT_MAX_DROP from the first
                 quarter of the run to the last.
6. underfitting  the run used every epoch (EarlyStopping did not end it), the validation loss was at its
                 lowest in the last epochs and still falling by STILL_FALLING_MIN_DROP over the last
                 quarter, and there is no generalisation gap: more epochs would still help.
7. healthy       none of the above.

The verdict never contradicts the callbacks: a run the guard stopped is `diverged` (never "nothing to
change"), a run EarlyStopping ended is never told to train longer, and an overfitting run's fix names
the epoch whose weights were kept. With fewer than MIN_EPOCHS_TO_JUDGE epochs only rule 1 is checked:
a trend needs more points than that.

The losses are assumed non-negative (crossentropy, MSE, MAE).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

VERDICTS = ("diverged", "lr_too_high", "overfitting", "underfitting", "lr_too_low", "healthy")

# Below this many epochs a curve is too short to show a trend (one bad epoch would decide the verdict),
# so only divergence is judged.
MIN_EPOCHS_TO_JUDGE = 5

# A training loss that ends 10x above its start is exploding, not noisy: no schedule recovers from that.
EXPLODING_FACTOR = 10.0

# A training loss that ends more than 5% above where it started has not been trained at all.
NET_RISE_TOLERANCE = 0.05

# A training-loss spike: up by a quarter of itself in one epoch, and by 5% of everything the run gained
# (first value minus minimum). Dropout noise on a plateau rises by a quarter of a tiny loss, which is
# nothing against the run's gain; an overshooting optimiser throws back a sizeable share of it.
TRAIN_SPIKE = 0.25
SPIKE_OF_RANGE = 0.05

# Validation spikes that fall back, summed, against the validation loss's improvement: measured on
# real fits, healthy and noisy-validation runs stay below 2 %, learning rates 100x too high above 50 %.
VAL_JITTER = 0.20

# The minimum must lie clearly before the end (not the last epoch or two of noise) ...
OVERFIT_MIN_EPOCHS_AFTER_BEST = 3
# ... and the validation loss must have climbed meaningfully from it, not wobbled around it.
OVERFIT_MIN_RISE = 0.10

# A final validation loss more than 10% above the final training loss is a generalisation gap (the model
# fits the training rows better than new ones); within 10%, or below the training loss (dropout at work),
# there is none. Overfitting needs a gap; underfitting and a rebound after an unstable step have none.
GENERALISATION_GAP = 0.10

# A rebound without a gap counts as instability only when it gives back a quarter of what the run had
# gained: a validation loss of 0.004 that wobbles to 0.005 after falling from 0.46 is noise.
REBOUND_OF_RANGE = 0.25

# Improvements are measured against at least this share of the first value, so a curve that never
# improved (its first epoch the best) is not divided by zero.
MIN_RANGE = 0.05

# Losses that move less than 5% from the first quarter of the run to the last have barely been trained:
# the steps are too small.
FLAT_MAX_DROP = 0.05

# Underfitting: the validation loss still falls by at least 2% over the last quarter of the run, with its
# minimum within the last tenth of the epochs (at least the last two).
UNDERFIT_TAIL_SHARE = 0.25
STILL_FALLING_MIN_DROP = 0.02
BEST_NEAR_END_SHARE = 0.10

# Guards a relative change against a loss of exactly zero.
_EPS = 1e-12

NOTHING_TO_CHANGE = "nothing to change"


@dataclass(frozen=True)
class Diagnosis:
    """What the curves say, why (with the figures), and which params to change."""

    verdict: str  # one of VERDICTS
    reason: str  # one sentence with the figures the rule used
    fix: str  # one sentence naming the params to change
    best_epoch: int | None  # 1-based epoch of the lowest validation loss; None if no finite value
    evidence: dict[str, float] = field(default_factory=dict)  # the rule's figures, rounded

    def to_dict(self) -> dict:
        """Plain JSON types only: the train stage writes it as diagnosis.json."""
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "fix": self.fix,
            "best_epoch": self.best_epoch,
            "evidence": dict(self.evidence),
        }


@dataclass(frozen=True)
class _Curves:
    """The two loss curves of one run (index 0 = epoch 1), with the names Keras gave them, and what
    the callbacks did to the run."""

    loss_name: str
    val_name: str
    loss: np.ndarray
    val: np.ndarray
    initial_learning_rate: float | None
    kept_epoch: int | None = None
    early_stopped_epoch: int | None = None
    diverged: str | None = None

    @property
    def epochs(self) -> int:
        return len(self.loss)

    @property
    def final_gap(self) -> float:
        """How far the last validation loss lies above the last training loss, relative to the latter."""
        return _relative_change(float(self.val[-1]), float(self.loss[-1]))

    @property
    def best_index(self) -> int | None:
        """0-based epoch of the lowest finite validation loss (the first, on ties): the checkpoint's."""
        finite = np.isfinite(self.val)
        if not finite.any():
            return None
        return int(np.argmin(np.where(finite, self.val, np.inf)))

    def improvement(self, values: np.ndarray) -> float:
        """What a curve gained (first value minus minimum), at least MIN_RANGE of its first value."""
        first = float(values[0])
        return max(first - float(values.min()), MIN_RANGE * abs(first), _EPS)


def diagnose(
    history: Mapping[str, Sequence[float]],
    loss: str = "loss",
    val_loss: str = "val_loss",
    kept_epoch: int | None = None,
    early_stopped_epoch: int | None = None,
    diverged: str | None = None,
) -> Diagnosis:
    """Judge a Keras `History.history` by the rules of the module docstring, in their order.

    What the callbacks did, so the verdict never contradicts them: `kept_epoch` is the (1-based)
    epoch whose weights the model keeps (the best checkpoint); `early_stopped_epoch` the epoch
    EarlyStopping ended the run at (None when it ran every epoch); `diverged` the divergence
    guard's message when it stopped the run.
    """
    curves = _read_curves(history, loss, val_loss)
    curves = _Curves(
        curves.loss_name,
        curves.val_name,
        curves.loss,
        curves.val,
        curves.initial_learning_rate,
        kept_epoch,
        early_stopped_epoch,
        diverged,
    )
    rules = _RULES if curves.epochs >= MIN_EPOCHS_TO_JUDGE else _RULES[:1]
    for rule in rules:
        found = rule(curves)
        if found is not None:
            return found
    return _healthy(curves)


def _read_curves(history: Mapping[str, Sequence[float]], loss: str, val_loss: str) -> _Curves:
    if not history:
        raise ValueError("The training history is empty: diagnose() needs the History.history of a fit.")
    for key in (loss, val_loss):
        if key not in history:
            raise ValueError(
                f"The training history has no {key!r} (keys: {sorted(history)}). "
                "Fix: fit with validation data so Keras records both losses."
            )
    loss_values = np.asarray(history[loss], dtype="float64")
    val_values = np.asarray(history[val_loss], dtype="float64")
    if loss_values.size == 0:
        raise ValueError(f"The training history has no epochs: {loss!r} is empty.")
    if loss_values.shape != val_values.shape:
        raise ValueError(
            f"The training history has {loss_values.size} values of {loss!r} but {val_values.size} "
            f"of {val_loss!r}: one per epoch is expected for both."
        )
    return _Curves(loss, val_loss, loss_values, val_values, _initial_learning_rate(history))


def _initial_learning_rate(history: Mapping[str, Sequence[float]]) -> float | None:
    """The first logged learning rate (Keras 3 logs `learning_rate`, Keras 2 `lr`), to quote in a fix."""
    for key in ("learning_rate", "lr"):
        values = history.get(key)
        if values is not None and len(values) > 0 and np.isfinite(values[0]):
            return float(values[0])
    return None


def _relative_change(new: float, old: float) -> float:
    return (new - old) / max(abs(old), _EPS)


def _figure(value: float) -> float:
    """Four significant digits: enough to read a loss of 1e-5 and of 3e10 alike."""
    return float(f"{value:.4g}")


def _learning_rate_change(curves: _Curves, factor: float) -> str:
    """' (from 0.001 to 0.0001)' when the history logged the learning rate, else nothing."""
    lr = curves.initial_learning_rate
    return "" if lr is None else f" (from {lr:g} to {lr * factor:g})"


def _lower_rate_fix(curves: _Curves, then: str) -> str:
    return (
        f"Lower train.learning_rate 3-10x{_learning_rate_change(curves, 0.1)} {then}, and check that the "
        "features (and a regression's target) are scaled."
    )


def _quarter_drop(values: np.ndarray) -> float:
    """How much the mean of the last quarter lies below the mean of the first (noise averaged out)."""
    quarter = max(2, round(len(values) * UNDERFIT_TAIL_SHARE))
    first, last = float(values[:quarter].mean()), float(values[-quarter:].mean())
    return -_relative_change(last, first)


def _diverged(curves: _Curves) -> Diagnosis | None:
    fix = (
        f"Lower train.learning_rate by 10x{_learning_rate_change(curves, 0.1)} and check the inputs for "
        "NaN or huge magnitudes (unscaled features or targets)."
    )
    best = _one_based(curves.best_index)
    if curves.diverged:
        reason = f"the divergence guard stopped the run after {curves.epochs} epochs: {curves.diverged}."
        return Diagnosis("diverged", reason, fix, best, {"epochs_run": float(curves.epochs)})
    nonfinite = ~np.isfinite(curves.loss) | ~np.isfinite(curves.val)
    if nonfinite.any():
        index = int(np.argmax(nonfinite))
        name, value = (
            (curves.loss_name, curves.loss[index])
            if not np.isfinite(curves.loss[index])
            else (curves.val_name, curves.val[index])
        )
        reason = f"{name} became {value} in epoch {index + 1}."
        return Diagnosis("diverged", reason, fix, best, {"nonfinite_epoch": index + 1.0})
    first, last = float(curves.loss[0]), float(curves.loss[-1])
    growth = 1.0 + _relative_change(last, first)
    if growth <= EXPLODING_FACTOR:
        return None
    reason = (
        f"{curves.loss_name} exploded {growth:.1f}x, from {first:.3g} in epoch 1 to {last:.3g} "
        f"in epoch {curves.epochs}."
    )
    evidence = {"first_loss": _figure(first), "final_loss": _figure(last), "loss_growth": _figure(growth)}
    return Diagnosis("diverged", reason, fix, best, evidence)


def _train_spikes(curves: _Curves) -> list[tuple[int, float]]:
    """(1-based epoch, relative rise) of each training-loss spike."""
    loss, scale = curves.loss, curves.improvement(curves.loss)
    spikes = []
    for index in range(1, curves.epochs):
        rise = float(loss[index] - loss[index - 1])
        if rise > TRAIN_SPIKE * max(float(loss[index - 1]), _EPS) and rise > SPIKE_OF_RANGE * scale:
            spikes.append((index + 1, rise / max(float(loss[index - 1]), _EPS)))
    return spikes


def _unstable_training(curves: _Curves) -> Diagnosis | None:
    first, last = float(curves.loss[0]), float(curves.loss[-1])
    net_change = _relative_change(last, first)
    spikes = _train_spikes(curves)
    symptoms = []
    if net_change > NET_RISE_TOLERANCE:
        symptoms.append(
            f"{curves.loss_name} ended {net_change:.0%} above where it started ({first:.3g} -> {last:.3g})"
        )
    if spikes:
        shown = ", ".join(f"+{rise:.0%} in epoch {epoch}" for epoch, rise in spikes[:3])
        more = f" and {len(spikes) - 3} more" if len(spikes) > 3 else ""
        symptoms.append(f"{curves.loss_name} spiked {len(spikes)} time(s) ({shown}{more})")
    if not symptoms:
        return None
    reason = "; ".join(symptoms) + ": the optimiser overshoots."
    evidence = {"loss_net_change": _figure(net_change), "loss_spikes": float(len(spikes))}
    fix = _lower_rate_fix(curves, "so the training loss falls steadily")
    return Diagnosis("lr_too_high", reason, fix, _one_based(curves.best_index), evidence)


def _val_rebound(curves: _Curves) -> tuple[int, float] | None:
    """(best index, relative rise) when the validation loss climbed clearly, and for a while, off its low."""
    best = curves.best_index
    if best is None or curves.epochs - 1 - best < OVERFIT_MIN_EPOCHS_AFTER_BEST:
        return None
    rise = _relative_change(float(curves.val[-1]), float(curves.val[best]))
    return (best, rise) if rise >= OVERFIT_MIN_RISE else None


def _overfitting(curves: _Curves) -> Diagnosis | None:
    rebound = _val_rebound(curves)
    if rebound is None:
        return None
    best, rise = rebound
    epochs_after_best = curves.epochs - 1 - best
    best_val, last_val = float(curves.val[best]), float(curves.val[-1])
    loss_at_best, last_loss = float(curves.loss[best]), float(curves.loss[-1])
    if last_loss >= loss_at_best or curves.final_gap < GENERALISATION_GAP:
        return None
    reason = (
        f"{curves.val_name} bottomed at {best_val:.3g} in epoch {best + 1} and rose {rise:.0%} by epoch "
        f"{curves.epochs} while {curves.loss_name} kept falling ({loss_at_best:.3g} -> {last_loss:.3g})."
    )
    regularise = "add model.dropout or reduce model.hidden_units, or get more training data"
    if curves.kept_epoch == best + 1:
        stopped = (
            f"early stopping ended the run at epoch {curves.early_stopped_epoch}"
            if curves.early_stopped_epoch
            else "the run went on to the last epoch"
        )
        fix = (
            f"The weights of epoch {best + 1}, the best, are the ones kept ({stopped}); to lower that "
            f"minimum, {regularise}."
        )
    else:
        fix = (
            f"Keep the weights of epoch {best + 1} (the best checkpoint; a train.early_stopping.patience "
            f"that stops soon after the minimum saves the epochs after it), and {regularise}."
        )
    evidence = {
        "best_val_loss": _figure(best_val),
        "final_val_loss": _figure(last_val),
        "val_loss_rise": _figure(rise),
        "epochs_after_best": float(epochs_after_best),
        "loss_at_best": _figure(loss_at_best),
        "final_loss": _figure(last_loss),
        "final_val_gap": _figure(curves.final_gap),
    }
    return Diagnosis("overfitting", reason, fix, best + 1, evidence)


def _val_jitter(curves: _Curves) -> float:
    """Validation spikes that fall back (the smaller of each rise and the fall after it), summed,
    against the validation loss's improvement: a steady climb or descent adds nothing."""
    steps = np.diff(curves.val)  # fewer than two steps: no spike, a sum of nothing
    rises, falls = np.maximum(steps[:-1], 0.0), np.maximum(-steps[1:], 0.0)
    return float(np.minimum(rises, falls).sum()) / curves.improvement(curves.val)


def _unstable_validation(curves: _Curves) -> Diagnosis | None:
    jitter = _val_jitter(curves)
    rebound = _val_rebound(curves)
    symptoms = []
    if jitter >= VAL_JITTER:
        symptoms.append(
            f"{curves.val_name} jumped up and back down by {jitter:.0%} of what it gained over the run"
        )
    given_back = 0.0
    if rebound is not None and curves.final_gap < GENERALISATION_GAP:
        best, rise = rebound
        given_back = float(curves.val[-1] - curves.val[best]) / curves.improvement(curves.val)
        if given_back >= REBOUND_OF_RANGE:
            symptoms.append(
                f"{curves.val_name} rose {rise:.0%} from its low of {curves.val[best]:.3g} in epoch "
                f"{best + 1} while {curves.loss_name} did not pull away below it "
                f"(final gap {curves.final_gap:+.0%})"
            )
    if not symptoms:
        return None
    reason = "; ".join(symptoms) + "."
    evidence = {
        "val_loss_jitter": _figure(jitter),
        "val_loss_given_back": _figure(given_back),
        "final_val_gap": _figure(curves.final_gap),
    }
    fix = _lower_rate_fix(curves, "so the validation loss settles")
    return Diagnosis("lr_too_high", reason, fix, _one_based(curves.best_index), evidence)


def _lr_too_low(curves: _Curves) -> Diagnosis | None:
    loss_drop, val_drop = _quarter_drop(curves.loss), _quarter_drop(curves.val)
    if loss_drop >= FLAT_MAX_DROP or val_drop >= FLAT_MAX_DROP:
        return None
    first, last = float(curves.loss[0]), float(curves.loss[-1])
    reason = (
        f"{curves.loss_name} and {curves.val_name} moved only {loss_drop:.1%} and {val_drop:.1%} from the "
        f"first quarter of the {curves.epochs} epochs to the last ({first:.3g} -> {last:.3g}): both are "
        "nearly flat."
    )
    fix = f"Raise train.learning_rate by 10x{_learning_rate_change(curves, 10.0)}: the steps are too small."
    evidence = {
        "first_loss": _figure(first),
        "final_loss": _figure(last),
        "loss_drop": _figure(loss_drop),
        "val_loss_drop": _figure(val_drop),
    }
    return Diagnosis("lr_too_low", reason, fix, _one_based(curves.best_index), evidence)


def _underfitting(curves: _Curves) -> Diagnosis | None:
    if curves.early_stopped_epoch is not None:
        return None  # EarlyStopping saw the validation loss stop improving: more epochs would not help
    best = curves.best_index
    near_end = max(2, round(curves.epochs * BEST_NEAR_END_SHARE))
    if best is None or curves.epochs - best > near_end:
        return None
    tail = max(2, round(curves.epochs * UNDERFIT_TAIL_SHARE))
    last_val = float(curves.val[-1])
    tail_drop = -_relative_change(last_val, float(curves.val[-1 - tail]))
    gap = curves.final_gap
    if tail_drop < STILL_FALLING_MIN_DROP or gap >= GENERALISATION_GAP:
        return None
    reason = (
        f"{curves.val_name} was still falling when the {curves.epochs} epochs ran out ({tail_drop:.0%} over "
        f"the last {tail}, lowest in epoch {best + 1}), with no overfitting gap ({last_val:.3g}, {gap:+.0%} "
        f"against {curves.loss_name})."
    )
    fix = (
        "Train longer (raise train.epochs) or faster (raise train.learning_rate 2-3x), or give the model "
        "more capacity (larger model.hidden_units, less model.dropout)."
    )
    evidence = {
        "tail_val_loss_drop": _figure(tail_drop),
        "tail_epochs": float(tail),
        "val_gap": _figure(gap),
        "final_loss": _figure(float(curves.loss[-1])),
        "final_val_loss": _figure(last_val),
    }
    return Diagnosis("underfitting", reason, fix, best + 1, evidence)


def _healthy(curves: _Curves) -> Diagnosis:
    best = curves.best_index
    assert best is not None, "a run without a finite val_loss is diverged"
    best_val, last_loss, last_val = float(curves.val[best]), float(curves.loss[-1]), float(curves.val[-1])
    short = (
        f"only {curves.epochs} epochs, too few to judge more than divergence; "
        if curves.epochs < MIN_EPOCHS_TO_JUDGE
        else ""
    )
    stopped = (
        f"; early stopping ended the run at epoch {curves.early_stopped_epoch}"
        if curves.early_stopped_epoch is not None
        else ""
    )
    reason = (
        f"{short}{curves.val_name} was lowest ({best_val:.3g}) in epoch {best + 1} of {curves.epochs}; "
        f"final {curves.loss_name} {last_loss:.3g}, final {curves.val_name} {last_val:.3g}{stopped}."
    )
    evidence = {
        "best_val_loss": _figure(best_val),
        "final_loss": _figure(last_loss),
        "final_val_loss": _figure(last_val),
        "epochs": float(curves.epochs),
    }
    return Diagnosis("healthy", reason, NOTHING_TO_CHANGE, best + 1, evidence)


def _one_based(index: int | None) -> int | None:
    return None if index is None else index + 1


# The check order of the module docstring; diverged must stay first (short runs check only it).
_RULES: tuple[Callable[[_Curves], Diagnosis | None], ...] = (
    _diverged,
    _unstable_training,
    _overfitting,
    _unstable_validation,
    _lr_too_low,
    _underfitting,
)
