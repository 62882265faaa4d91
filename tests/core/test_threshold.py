import numpy as np
import pytest

from pipeline.core.errors import ConfigMismatchError
from pipeline.core.threshold import choose_threshold, max_f1_threshold


def test_fixed_policy_returns_the_param():
    assert choose_threshold("fixed", np.array([0, 1]), np.array([0.2, 0.8]), 0.3) == 0.3


def test_max_f1_picks_the_cut_that_separates_the_classes():
    y = np.array([0, 0, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.35, 0.4, 0.8])
    assert max_f1_threshold(y, p) == 0.4


def test_max_f1_with_overlap_exact():
    # Thresholds 0.3 -> F1 6/7 (3 TP of 4 flagged), 0.6 -> F1 0.8, 0.7 -> 0.5 ...
    y = np.array([0, 1, 1, 1, 0])
    p = np.array([0.1, 0.3, 0.6, 0.7, 0.65])
    assert max_f1_threshold(y, p) == 0.3


def test_unknown_policy_is_refused():
    with pytest.raises(ConfigMismatchError, match="threshold_policy = 'magic'"):
        choose_threshold("magic", np.array([0]), np.array([0.5]), 0.5)
