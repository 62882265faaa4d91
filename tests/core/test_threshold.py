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


def test_target_precision_takes_the_lowest_threshold_that_reaches_it():
    from pipeline.core.threshold import target_precision_threshold

    y = np.array([0, 1, 0, 1, 1])
    p = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    # t=0.3: 3 TP of 4 flagged (0.75); t=0.5: 2 of 3 (0.67); t=0.7: 2 of 2 (1.0).
    assert target_precision_threshold(y, p, 0.75) == 0.3
    assert target_precision_threshold(y, p, 0.9) == 0.7
    assert choose_threshold("target_precision", y, p, 0.5, 0.9) == 0.7


def test_target_recall_takes_the_highest_threshold_that_keeps_it():
    from pipeline.core.threshold import target_recall_threshold

    y = np.array([0, 1, 0, 1, 1])
    p = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    assert target_recall_threshold(y, p, 0.6) == 0.7  # 2 of 3 positives
    assert target_recall_threshold(y, p, 1.0) == 0.3
    assert choose_threshold("target_recall", y, p, 0.5, 1.0) == 0.3


def test_unreachable_target_is_refused_with_the_best_there_is():
    from pipeline.core.threshold import target_precision_threshold

    with pytest.raises(ConfigMismatchError, match=r"evaluate.target = 0.99: .*best 0.750\)"):
        target_precision_threshold(np.array([1, 0, 1, 1]), np.array([0.9, 0.9, 0.9, 0.9]), 0.99)


def test_each_policy_reaches_its_threshold():
    y = np.array([0, 0, 1, 0, 1, 1])
    p = np.array([0.1, 0.3, 0.4, 0.6, 0.7, 0.9])
    assert choose_threshold("fixed", y, p, fixed=0.42) == 0.42
    assert choose_threshold("target_recall", y, p, fixed=0.5, target=1.0) == 0.4
    assert choose_threshold("target_recall", y, p, fixed=0.5, target=0.6) == 0.7
    assert choose_threshold("target_precision", y, p, fixed=0.5, target=1.0) == 0.7


def test_an_unknown_policy_names_the_known_ones():
    with pytest.raises(ConfigMismatchError, match="use fixed, max_f1, target_precision or target_recall"):
        choose_threshold("median", np.array([0, 1]), np.array([0.2, 0.8]), fixed=0.5)
