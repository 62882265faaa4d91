"""Each verdict on a synthetic curve built to show exactly that symptom, plus the edge cases."""

from __future__ import annotations

import json
import math

import pytest

from pipeline.core.diagnosis import VERDICTS, Diagnosis, diagnose


def _history(loss: list[float], val_loss: list[float], **extra: list[float]) -> dict[str, list[float]]:
    return {"loss": loss, "val_loss": val_loss, **extra}


def _healthy_curve() -> dict[str, list[float]]:
    # Exponential decay towards 0.05, validation a constant 0.02 above: lowest in the last epoch.
    loss = [0.7 * 0.8**i + 0.05 for i in range(30)]
    return _history(loss, [x + 0.02 for x in loss])


def _overfitting_curve() -> dict[str, list[float]]:
    # val_loss falls linearly 1.0 -> 0.2 over epochs 1-10, then climbs linearly to 0.28 (+40%) at epoch 30;
    # the training loss keeps falling throughout.
    val = [1.0 - 0.8 * i / 9 for i in range(10)] + [0.2 + 0.08 * i / 20 for i in range(1, 21)]
    loss = [0.9**i for i in range(30)]
    return _history(loss, val)


def test_healthy_decay():
    result = diagnose(_healthy_curve())
    assert result.verdict == "healthy"
    assert result.best_epoch == 30
    assert result.fix == "nothing to change"
    assert "epoch 30 of 30" in result.reason


def test_overfitting_reports_best_epoch_and_rise():
    result = diagnose(_overfitting_curve())
    assert result.verdict == "overfitting"
    assert result.best_epoch == 10
    assert result.evidence["val_loss_rise"] == pytest.approx(0.4)
    assert result.evidence["epochs_after_best"] == 20.0
    assert "bottomed at 0.2 in epoch 10 and rose 40% by epoch 30" in result.reason
    assert "model.dropout" in result.fix


def test_small_rise_after_the_minimum_is_not_overfitting():
    # The same shape, but val_loss ends only 5% above its minimum: early-stopping patience noise.
    history = _overfitting_curve()
    history["val_loss"] = history["val_loss"][:10] + [0.2 + 0.01 * i / 20 for i in range(1, 21)]
    assert diagnose(history).verdict == "healthy"


def test_nan_is_diverged():
    result = diagnose(_history([0.7, 0.5, math.nan, math.nan], [0.6, 0.4, math.nan, math.nan]))
    assert result.verdict == "diverged"
    assert result.best_epoch == 2
    assert result.evidence == {"nonfinite_epoch": 3.0}
    assert result.reason == "loss became nan in epoch 3."


def test_inf_in_val_loss_is_diverged():
    result = diagnose(_history([0.7, 0.6, 0.5, 0.4, 0.3, 0.2], [0.6, 0.5, math.inf, 0.4, 0.3, 0.2]))
    assert result.verdict == "diverged"
    assert result.best_epoch == 6
    assert result.reason == "val_loss became inf in epoch 3."


def test_exploding_loss_is_diverged():
    loss = [0.5, 1.0, 3.0, 8.0, 20.0, 60.0]
    result = diagnose(_history(loss, [x * 1.1 for x in loss], learning_rate=[0.1] * 6))
    assert result.verdict == "diverged"
    assert result.best_epoch == 1
    assert result.evidence["loss_growth"] == pytest.approx(120.0)
    assert "(from 0.1 to 0.01)" in result.fix


def test_all_nan_val_loss_has_no_best_epoch():
    result = diagnose(_history([0.7, 0.6], [math.nan, math.nan]))
    assert result.verdict == "diverged"
    assert result.best_epoch is None


def test_oscillating_loss_is_lr_too_high():
    # The training loss rises in 4 of 9 steps (44%); the lowest val_loss is in epoch 8.
    loss = [0.7, 0.5, 0.65, 0.45, 0.6, 0.42, 0.58, 0.4, 0.55, 0.41]
    result = diagnose(_history(loss, [x + 0.05 for x in loss]))
    assert result.verdict == "lr_too_high"
    assert result.best_epoch == 8
    assert result.evidence["loss_spikes"] == 4.0
    assert result.reason == (
        "loss spiked 4 time(s) (+30% in epoch 3, +33% in epoch 5, +38% in epoch 7 and 1 more): "
        "the optimiser overshoots."
    )
    assert result.fix.startswith("Lower train.learning_rate 3-10x so the training loss falls steadily")


def test_val_loss_spikes_are_lr_too_high():
    # A smooth training loss, but val_loss jumps up and back twice: 0.7 and 0.6 against a gain of 0.5.
    loss = [1.0 - 0.05 * i for i in range(10)]
    val = [0.9, 0.8, 1.5, 0.7, 0.6, 1.2, 0.55, 0.5, 0.45, 0.4]
    result = diagnose(_history(loss, val))
    assert result.verdict == "lr_too_high"
    assert result.best_epoch == 10
    assert result.evidence["val_loss_jitter"] == pytest.approx(2.6)
    assert result.reason == "val_loss jumped up and back down by 260% of what it gained over the run."


def test_a_noisy_validation_loss_near_its_minimum_is_not_instability():
    # val_loss falls from 0.46 to 0.004 and wobbles there by up to 25%: nothing against the 0.456 gained.
    loss = [0.5 * 0.85**i + 0.01 for i in range(40)]
    val = [0.46 * 0.7**i + 0.004 for i in range(30)] + [0.004, 0.005, 0.004, 0.005, 0.0045] * 2
    result = diagnose(_history(loss, val), early_stopped_epoch=40)
    assert result.verdict == "healthy"
    assert result.reason.endswith("; early stopping ended the run at epoch 40.")


def test_loss_ending_above_its_start_is_lr_too_high():
    # A slow climb (each step +2%, below the noise tolerance) that ends 22% above the start.
    loss = [0.5 * 1.02**i for i in range(11)]
    result = diagnose(_history(loss, [x + 0.1 for x in loss]))
    assert result.verdict == "lr_too_high"
    assert result.best_epoch == 1
    assert result.evidence["loss_net_change"] == pytest.approx(1.02**10 - 1, abs=1e-4)


def test_collapse_after_a_good_minimum_is_lr_too_high():
    # The shape of a run at learning rate 0.5: a good val_loss in epoch 3, then both losses settle at the
    # constant predictor's level. val_loss rose 250% but the training loss sits level with it: no overfitting.
    loss = [2.0, 1.0, 0.5, 0.6, 0.65, 0.67, 0.67, 0.67, 0.67, 0.67]
    val = [1.5, 0.8, 0.2, 0.5, 0.68, 0.70, 0.70, 0.70, 0.70, 0.70]
    result = diagnose(_history(loss, val))
    assert result.verdict == "lr_too_high"
    assert result.best_epoch == 3
    assert result.evidence["val_loss_given_back"] == pytest.approx(0.5 / 1.3, abs=1e-4)
    assert result.evidence["final_val_gap"] == pytest.approx(0.03 / 0.67, abs=1e-4)
    assert "val_loss rose 250% from its low of 0.2 in epoch 3" in result.reason


def test_overfitting_needs_a_gap_at_the_end():
    # The overfitting val_loss with a training loss that falls only to just below the final val_loss.
    history = _overfitting_curve()
    history["loss"] = [1.0 - 0.75 * i / 29 for i in range(30)]  # ends at 0.25, val_loss at 0.28 (+12%)
    assert diagnose(history).verdict == "overfitting"
    history["loss"] = [1.0 - 0.74 * i / 29 for i in range(30)]  # ends at 0.26, val_loss at 0.28 (+7.7%)
    # No gap, and the 0.08 given back is a tenth of the 0.8 gained: neither overfitting nor instability.
    assert diagnose(history).verdict == "healthy"


def test_flat_loss_is_lr_too_low():
    loss = [0.693 - 0.001 * i for i in range(20)]  # 2.7% down in 20 epochs
    result = diagnose(_history(loss, [x + 0.001 for x in loss], learning_rate=[1e-5] * 20))
    assert result.verdict == "lr_too_low"
    assert result.best_epoch == 20
    # Means of the first and last five epochs: 0.691 and 0.676.
    assert result.evidence["loss_drop"] == pytest.approx(0.015 / 0.691, abs=1e-4)
    assert result.evidence["val_loss_drop"] == pytest.approx(0.015 / 0.692, abs=1e-4)
    assert result.fix == "Raise train.learning_rate by 10x (from 1e-05 to 0.0001): the steps are too small."


def test_slow_fall_without_gap_is_underfitting():
    loss = [1.0 - 0.01 * i for i in range(30)]  # 29% down, still falling at the end
    result = diagnose(_history(loss, [x * 1.02 for x in loss]))
    assert result.verdict == "underfitting"
    assert result.best_epoch == 30
    assert result.evidence["tail_val_loss_drop"] == pytest.approx(0.08 / 0.79, abs=1e-4)
    assert result.evidence["val_gap"] == pytest.approx(0.02)
    assert result.evidence["tail_epochs"] == 8.0
    assert "model.hidden_units" in result.fix and "raise train.epochs" in result.fix


def test_a_run_early_stopping_ended_is_never_told_to_train_longer():
    # Seen on a real binary table: the training loss still creeping down, val_loss best in epoch 20,
    # and EarlyStopping ending the run 15 epochs later.
    loss = [1.0 - 0.012 * i for i in range(35)]
    val = [1.0 - 0.012 * i for i in range(20)] + [0.772 + 0.0005 * i for i in range(1, 16)]
    stopped = diagnose(_history(loss, val), kept_epoch=20, early_stopped_epoch=35)
    assert stopped.verdict == "healthy" and stopped.fix == "nothing to change"
    assert "early stopping ended the run at epoch 35" in stopped.reason
    # The same curve still falling at the end of its epochs would be underfitting; stopped, never.
    falling = _history(loss, [x * 1.01 for x in loss])
    assert diagnose(falling).verdict == "underfitting"
    assert diagnose(falling, early_stopped_epoch=35).verdict == "healthy"


def test_the_divergence_guard_stopping_the_run_is_diverged_never_nothing_to_change():
    # The epochs before the guard fired look healthy; the guard's word decides.
    history = _healthy_curve()
    result = diagnose(history, diverged="the training loss exploded to 91.3 in epoch 31")
    assert result.verdict == "diverged"
    assert result.reason == (
        "the divergence guard stopped the run after 30 epochs: "
        "the training loss exploded to 91.3 in epoch 31."
    )
    assert result.fix != "nothing to change" and result.fix.startswith("Lower train.learning_rate by 10x")
    assert (
        diagnose(_history([0.7, 0.6], [0.6, 0.5]), diverged="loss became nan in batch 3").verdict
        == "diverged"
    )


def test_a_textbook_overfit_with_val_jumps_is_overfitting_not_lr_too_high():
    # Seen on 2026-11-30: training loss down to ~1e-6 while val_loss rose tenfold from its minimum over
    # 150 epochs, jumping by more than 50% (and back) four times on the way up.
    loss = [0.6 * 0.91**i for i in range(150)]
    val = [0.6 - 0.52 * i / 11 for i in range(12)] + [0.08 * 10 ** ((i + 1) / 138) for i in range(138)]
    for epoch in (40, 70, 100, 130):
        val[epoch] *= 1.6
    result = diagnose(_history(loss, val), kept_epoch=12)
    assert result.verdict == "overfitting" and result.best_epoch == 12
    assert result.evidence["val_loss_rise"] == pytest.approx(9.0, abs=1e-3)
    assert result.fix.startswith(
        "The weights of epoch 12, the best, are the ones kept (the run went on to the last epoch)"
    )


@pytest.mark.parametrize("scale", [1e-6, 1.0, 3e10])
def test_the_loss_scale_never_changes_a_verdict(scale):
    # A regression on targets in the hundreds of thousands has an MSE near 1e10.
    for history in (_healthy_curve(), _overfitting_curve()):
        scaled = {k: [x * scale for x in v] for k, v in history.items()}
        assert diagnose(scaled).verdict == diagnose(history).verdict


def test_slow_fall_with_a_gap_is_not_underfitting():
    loss = [1.0 - 0.01 * i for i in range(30)]
    assert diagnose(_history(loss, [x * 1.3 for x in loss])).verdict == "healthy"


def test_plateau_without_gap_is_healthy_not_underfitting():
    # Levelled off at 60% of the start (the noise floor of a hard target): more epochs would not help.
    loss = [1.0, 0.8, 0.7, 0.65, 0.62, 0.61, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    result = diagnose(_history(loss, [x + 0.01 for x in loss]))
    assert result.verdict == "healthy"
    assert result.best_epoch == 7


def test_short_history_is_healthy_unless_diverged():
    # Three epochs that would look erratic and overfit on a longer run.
    result = diagnose(_history([0.7, 0.8, 0.9], [0.6, 0.9, 1.2]))
    assert result.verdict == "healthy"
    assert result.best_epoch == 1
    assert result.reason.startswith("only 3 epochs")


def test_single_epoch_is_healthy():
    result = diagnose(_history([0.7], [0.65]))
    assert (result.verdict, result.best_epoch) == ("healthy", 1)


def test_custom_metric_names():
    history = _overfitting_curve()
    renamed = {"mse": history["loss"], "val_mse": history["val_loss"]}
    result = diagnose(renamed, loss="mse", val_loss="val_mse")
    assert result.verdict == "overfitting"
    assert "val_mse bottomed" in result.reason


def test_missing_val_loss_is_refused():
    with pytest.raises(ValueError, match="no 'val_loss'"):
        diagnose({"loss": [0.7, 0.6]})


def test_empty_history_is_refused():
    with pytest.raises(ValueError, match="empty"):
        diagnose({})


def test_history_without_epochs_is_refused():
    with pytest.raises(ValueError, match="no epochs"):
        diagnose(_history([], []))


def test_unequal_lengths_are_refused():
    with pytest.raises(ValueError, match="one per epoch"):
        diagnose(_history([0.7, 0.6, 0.5], [0.6, 0.5]))


@pytest.mark.parametrize(
    "history",
    [
        _healthy_curve(),
        _overfitting_curve(),
        _history([0.7, math.nan], [0.6, math.nan]),
        _history([0.7, 0.5, 0.65, 0.45, 0.6, 0.42], [0.7, 0.5, 0.65, 0.45, 0.6, 0.42]),
    ],
)
def test_to_dict_round_trips_through_strict_json(history):
    result = diagnose(history)
    assert isinstance(result, Diagnosis)
    assert result.verdict in VERDICTS
    as_dict = result.to_dict()
    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict
    assert set(as_dict) == {"verdict", "reason", "fix", "best_epoch", "evidence"}


def test_overfitting_fix_acknowledges_weights_early_stopping_already_kept():
    history = {
        "loss": [1.0 - 0.03 * i for i in range(30)],
        "val_loss": [1.0 - 0.05 * i for i in range(10)] + [0.55 + 0.02 * i for i in range(20)],
    }
    kept = diagnose(history, kept_epoch=10, early_stopped_epoch=30)
    assert kept.verdict == "overfitting" and kept.best_epoch == 10
    assert kept.fix.startswith(
        "The weights of epoch 10, the best, are the ones kept (early stopping ended the run at epoch 30)"
    )
    assert diagnose(history, kept_epoch=30).fix.startswith(
        "Keep the weights of epoch 10 (the best checkpoint"
    )
