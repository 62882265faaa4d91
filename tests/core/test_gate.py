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
