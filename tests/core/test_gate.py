import pytest

from pipeline.core.gate import decide


def test_first_candidate_becomes_champion():
    d = decide("roc_auc", 0.9, None, 0.0)
    assert d.promote is True
    assert "no champion yet" in d.reason


@pytest.mark.parametrize(
    ("metric", "candidate", "champion", "margin", "promote"),
    [
        ("roc_auc", 0.95, 0.94, 0.0, True),
        ("roc_auc", 0.94, 0.94, 0.0, False),  # a tie does not replace the champion
        ("roc_auc", 0.93, 0.94, 0.0, False),
        ("roc_auc", 0.95, 0.94, 0.02, False),  # better, but not by the margin
        ("roc_auc", 0.97, 0.94, 0.02, True),
        ("loss", 0.10, 0.20, 0.0, True),  # lower loss is better
        ("loss", 0.30, 0.20, 0.0, False),
        ("accuracy", float("nan"), 0.9, 0.0, False),
    ],
)
def test_gate(metric, candidate, champion, margin, promote):
    assert decide(metric, candidate, champion, margin).promote is promote


def test_reason_states_both_scores():
    d = decide("roc_auc", 0.93, 0.94, 0.0)
    assert "candidate roc_auc=0.93 does not beat champion 0.94" in d.reason


def comparison(outcome: str):
    from pipeline.core.baseline import Comparison

    margin = {"beats": 2.0, "matches": -1.0, "trails": -2.0}[outcome]
    return Comparison(outcome, "accuracy", 0.9, 0.92, margin, "holdout errors")


@pytest.mark.parametrize(
    ("outcome", "required", "promote"),
    [
        ("trails", False, True),  # the baseline informs; without the param it never decides
        ("trails", True, False),
        ("matches", True, True),
        ("beats", True, True),
    ],
)
def test_the_baseline_decides_only_when_asked(outcome, required, promote):
    from pipeline.core.gate import against_baseline

    won = decide("roc_auc", 0.95, 0.94, 0.0)
    decided = against_baseline(won, comparison(outcome), required)
    assert decided.promote is promote
    if not promote:
        assert decided.reason.startswith("the network trails it by 2 holdout errors")
        assert "register.require_beat_baseline" in decided.reason and "beats champion" in decided.reason


def test_a_losing_candidate_that_trails_keeps_both_reasons():
    from pipeline.core.gate import against_baseline

    lost = decide("roc_auc", 0.93, 0.94, 0.0)
    decided = against_baseline(lost, comparison("trails"), True)
    assert decided.promote is False and decided.reason.endswith(lost.reason)
    assert against_baseline(lost, comparison("beats"), True) is lost


def test_the_baseline_required_but_not_recorded_is_not_promoted():
    from pipeline.core.gate import against_baseline

    decided = against_baseline(decide("roc_auc", 0.95, 0.94, 0.0), None, True)
    assert decided.promote is False and "Fix: set evaluate.baseline: true" in decided.reason
    assert against_baseline(decide("roc_auc", 0.95, 0.94, 0.0), None, False).promote is True
