"""Reading a Keras training History the way the Keras workflow teaches: what went wrong, and the fix.

The train stage calls `diagnose` once training ends; the result is written as JSON, tagged on the MLflow run
and printed, so a user sees at a glance whether to change a param before the next experiment.

Rules are checked in this order and the first that matches wins:

1. diverged      a NaN/inf in the training or validation loss, or the training loss ended more than
                 EXPLODING_FACTOR times its first value.
2. lr_too_high   the training loss is erratic (it rises by more than RISE_TOLERANCE in at least
                 ERRATIC_RISE_SHARE of the epoch-to-epoch steps), the validation loss spikes (jumps by more
                 than VAL_SPIKE at least MIN_VAL_SPIKES times), the training loss ended above where it
                 started, or the validation loss rebounded from its minimum (as in rule 3) with no
                 generalisation gap: not overfitting but a run knocked out of a good minimum (a learning
                 rate of 0.5 on scaled data collapses to the constant predictor this way).
3. overfitting   the validation loss bottomed out at least OVERFIT_MIN_EPOCHS_AFTER_BEST epochs before the
                 end, ended at least OVERFIT_MIN_RISE above that minimum and GENERALISATION_GAP above the
                 final training loss, and the training loss kept falling.
4. lr_too_low    the training loss is nearly flat: it fell by less than FLAT_MAX_DROP over the run.
5. underfitting  the training loss fell by less than UNDERFIT_MAX_DROP, is still falling at the end, and the
                 validation loss ends less than GENERALISATION_GAP above it.
6. healthy       none of the above.

Rule 4 comes before rule 5 because a nearly flat curve is also a slowly falling one; checked first, "flat"
is told apart from "slow". The order of the VERDICTS tuple carries no meaning; only this check order does.
With fewer than MIN_EPOCHS_TO_JUDGE epochs only rule 1 is checked: a trend needs more points than that.

The losses are assumed non-negative (crossentropy, MSE, MAE), so relative changes are taken against the
earlier value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

VERDICTS = ("diverged", "lr_too_high", "overfitting", "underfitting", "lr_too_low", "healthy")

# Below this many epochs a curve is too short to show a trend (one bad epoch would decide the verdict),
# so only divergence is judged.
MIN_EPOCHS_TO_JUDGE = 5

# A training loss that ends 10x above its start is exploding, not noisy: no schedule recovers from that.
EXPLODING_FACTOR = 10.0

# An epoch-to-epoch rise of the training loss counts only above 5%: smaller rises are the mini-batch noise
# of a converged run on a plateau, which a healthy run shows too.
RISE_TOLERANCE = 0.05

# A well-tuned run descends in most epochs; rising in 40% of the steps means the optimiser overshoots.
ERRATIC_RISE_SHARE = 0.40

# A validation loss that jumps by more than half from one epoch to the next has been thrown off the minimum;
# twice rules out a single unlucky epoch.
VAL_SPIKE = 0.50
MIN_VAL_SPIKES = 2

# The minimum must lie clearly before the end (not the last epoch or two of noise) ...
OVERFIT_MIN_EPOCHS_AFTER_BEST = 3
# ... and the validation loss must have climbed meaningfully from it, not wobbled around it.
OVERFIT_MIN_RISE = 0.10

# A final validation loss more than 10% above the final training loss is a generalisation gap (the model
# fits the training rows better than new ones); within 10%, or below the training loss (dropout at work),
# there is none. Overfitting needs a gap; underfitting and a rebound after an unstable step have none.
GENERALISATION_GAP = 0.10

# A training loss that moves less than 5% over the whole run has barely been trained: the steps are too small.
FLAT_MAX_DROP = 0.05

# A training loss that has not even halved is still high ...
UNDERFIT_MAX_DROP = 0.50
# ... it counts as underfitting only while it is still falling over the last quarter of the run by at least
# 1%: a curve that has levelled off may simply have reached the noise floor of the data (no baseline tells
# them apart), and more epochs would not help it.
UNDERFIT_TAIL_SHARE = 0.25
STILL_FALLING_MIN_DROP = 0.01

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
    """The two loss curves of one run (index 0 = epoch 1), with the names Keras gave them."""

    loss_name: str
    val_name: str
    loss: np.ndarray
    val: np.ndarray
    initial_learning_rate: float | None

    @property
    def epochs(self) -> int:
        return len(self.loss)

    @property
    def final_gap(self) -> float:
        """How far the last validation loss lies above the last training loss, relative to the latter."""
        return _relative_change(float(self.val[-1]), float(self.loss[-1]))

    @property
    def best_index(self) -> int | None:
        """0-based epoch of the lowest finite validation loss (the first, on ties), as EarlyStopping keeps."""
        finite = np.isfinite(self.val)
        if not finite.any():
            return None
        return int(np.argmin(np.where(finite, self.val, np.inf)))


def diagnose(
    history: Mapping[str, Sequence[float]],
    loss: str = "loss",
    val_loss: str = "val_loss",
    kept_epoch: int | None = None,
    early_stopped_epoch: int | None = None,
    diverged: str | None = None,
) -> Diagnosis:
    """Judge a Keras `History.history` by the rules of the module docstring, in their order.

    `kept_epoch` is the (1-based) epoch whose weights the model kept (EarlyStopping's
    restore_best_weights): when it is the best epoch, an overfitting run's fix says so rather
    than ask for what is already in place.
    """
    curves = _read_curves(history, loss, val_loss)
    rules = _RULES if curves.epochs >= MIN_EPOCHS_TO_JUDGE else _RULES[:1]
    for rule in rules:
        found = rule(curves)
        if found is not None:
            if found.verdict == "overfitting" and kept_epoch is not None and kept_epoch == found.best_epoch:
                found = replace(
                    found,
                    fix=(
                        f"Early stopping already kept the weights of epoch {kept_epoch}, the best; to lower "
                        "that minimum, add model.dropout or reduce model.hidden_units, or get more "
                        "training data."
                    ),
                )
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


def _step_changes(values: np.ndarray) -> np.ndarray:
    """Relative change from each epoch to the next."""
    previous = values[:-1]
    return (values[1:] - previous) / np.maximum(np.abs(previous), _EPS)


def _figure(value: float) -> float:
    """Four significant digits: enough to read a loss of 1e-5 and of 30 alike."""
    return float(f"{value:.4g}")


def _learning_rate_change(curves: _Curves, factor: float) -> str:
    """' (from 0.001 to 0.0001)' when the history logged the learning rate, else nothing."""
    lr = curves.initial_learning_rate
    return "" if lr is None else f" (from {lr:g} to {lr * factor:g})"


def _diverged(curves: _Curves) -> Diagnosis | None:
    fix = (
        f"Lower train.learning_rate by 10x{_learning_rate_change(curves, 0.1)} and check the inputs for "
        "NaN or huge magnitudes (unscaled features or targets)."
    )
    nonfinite = ~np.isfinite(curves.loss) | ~np.isfinite(curves.val)
    if nonfinite.any():
        index = int(np.argmax(nonfinite))
        name, value = (
            (curves.loss_name, curves.loss[index])
            if not np.isfinite(curves.loss[index])
            else (curves.val_name, curves.val[index])
        )
        reason = f"{name} became {value} in epoch {index + 1}."
        evidence = {"nonfinite_epoch": index + 1.0}
        return Diagnosis("diverged", reason, fix, _one_based(curves.best_index), evidence)
    first, last = float(curves.loss[0]), float(curves.loss[-1])
    growth = 1.0 + _relative_change(last, first)
    if growth <= EXPLODING_FACTOR:
        return None
    reason = (
        f"{curves.loss_name} exploded {growth:.1f}x, from {first:.3g} in epoch 1 to {last:.3g} "
        f"in epoch {curves.epochs}."
    )
    evidence = {"first_loss": _figure(first), "final_loss": _figure(last), "loss_growth": _figure(growth)}
    return Diagnosis("diverged", reason, fix, _one_based(curves.best_index), evidence)


def _lr_too_high(curves: _Curves) -> Diagnosis | None:
    steps = curves.epochs - 1
    rises = int((_step_changes(curves.loss) > RISE_TOLERANCE).sum())
    rise_share = rises / steps
    spikes = int((_step_changes(curves.val) > VAL_SPIKE).sum())
    first, last = float(curves.loss[0]), float(curves.loss[-1])
    net_change = _relative_change(last, first)
    symptoms = []
    if rise_share >= ERRATIC_RISE_SHARE:
        symptoms.append(
            f"{curves.loss_name} rose in {rises} of {steps} epoch-to-epoch steps ({rise_share:.0%})"
        )
    if spikes >= MIN_VAL_SPIKES:
        symptoms.append(f"{curves.val_name} jumped by more than {VAL_SPIKE:.0%} {spikes} times")
    if net_change > RISE_TOLERANCE:
        symptoms.append(
            f"{curves.loss_name} ended {net_change:.0%} above where it started ({first:.3g} -> {last:.3g})"
        )
    rebound = _val_rebound(curves)
    if rebound is not None and curves.final_gap < GENERALISATION_GAP:
        best, rise = rebound
        symptoms.append(
            f"{curves.val_name} rose {rise:.0%} from its low of {curves.val[best]:.3g} in epoch {best + 1} "
            f"while {curves.loss_name} did not pull away below it (final gap {curves.final_gap:+.0%})"
        )
    if not symptoms:
        return None
    reason = "; ".join(symptoms) + "."
    fix = (
        f"Lower train.learning_rate by 10x{_learning_rate_change(curves, 0.1)} so the optimiser stops "
        "overshooting, and check that the features are scaled."
    )
    evidence = {
        "loss_rise_share": _figure(rise_share),
        "val_loss_spikes": float(spikes),
        "loss_net_change": _figure(net_change),
        "val_loss_rebound": _figure(rebound[1]) if rebound is not None else 0.0,
        "final_val_gap": _figure(curves.final_gap),
    }
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
    fix = (
        f"Keep the weights of epoch {best + 1} (train.early_stopping with restore_best_weights and a "
        "train.early_stopping.patience that stops soon after the minimum), add model.dropout or reduce "
        "model.hidden_units, or get more training data."
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


def _lr_too_low(curves: _Curves) -> Diagnosis | None:
    first, last = float(curves.loss[0]), float(curves.loss[-1])
    drop = -_relative_change(last, first)
    if drop >= FLAT_MAX_DROP:
        return None
    reason = (
        f"{curves.loss_name} moved only {abs(drop):.1%} in {curves.epochs} epochs "
        f"({first:.3g} -> {last:.3g}): the curve is nearly flat."
    )
    fix = f"Raise train.learning_rate by 10x{_learning_rate_change(curves, 10.0)}: the steps are too small."
    evidence = {"first_loss": _figure(first), "final_loss": _figure(last), "loss_drop": _figure(drop)}
    return Diagnosis("lr_too_low", reason, fix, _one_based(curves.best_index), evidence)


def _underfitting(curves: _Curves) -> Diagnosis | None:
    first, last, last_val = float(curves.loss[0]), float(curves.loss[-1]), float(curves.val[-1])
    drop = -_relative_change(last, first)
    tail = max(1, round(curves.epochs * UNDERFIT_TAIL_SHARE))
    tail_drop = -_relative_change(last, float(curves.loss[-1 - tail]))
    gap = curves.final_gap
    if drop >= UNDERFIT_MAX_DROP or tail_drop < STILL_FALLING_MIN_DROP or gap >= GENERALISATION_GAP:
        return None
    reason = (
        f"{curves.loss_name} fell only {drop:.0%} in {curves.epochs} epochs ({first:.3g} -> {last:.3g}) and "
        f"was still falling ({tail_drop:.0%} over the last {tail}), while {curves.val_name} ({last_val:.3g}, "
        f"{gap:+.0%} against it) shows no overfitting gap."
    )
    fix = (
        "Train longer (train.epochs) or faster (raise train.learning_rate), or give the model more capacity "
        "(larger model.hidden_units, less model.dropout)."
    )
    evidence = {
        "loss_drop": _figure(drop),
        "tail_loss_drop": _figure(tail_drop),
        "tail_epochs": float(tail),
        "val_gap": _figure(gap),
        "final_loss": _figure(last),
        "final_val_loss": _figure(last_val),
    }
    return Diagnosis("underfitting", reason, fix, _one_based(curves.best_index), evidence)


def _healthy(curves: _Curves) -> Diagnosis:
    best = curves.best_index
    assert best is not None, "a run without a finite val_loss is diverged"
    best_val, last_loss, last_val = float(curves.val[best]), float(curves.loss[-1]), float(curves.val[-1])
    short = (
        f"only {curves.epochs} epochs, too few to judge more than divergence; "
        if curves.epochs < MIN_EPOCHS_TO_JUDGE
        else ""
    )
    reason = (
        f"{short}{curves.val_name} was lowest ({best_val:.3g}) in epoch {best + 1} of {curves.epochs}; "
        f"final {curves.loss_name} {last_loss:.3g}, final {curves.val_name} {last_val:.3g}."
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
    _lr_too_high,
    _overfitting,
    _lr_too_low,
    _underfitting,
)
