"""The drift statistics and their noise bounds, on values worked out by hand."""

import math

import numpy as np
import pytest

from pipeline.core import drift
from pipeline.core.drift import Check, FeatureDrift, Thresholds
from pipeline.core.stats import FeatureStats

Z_999 = 3.090232306167813  # the standard normal's 0.999 quantile


def test_effective_rows_and_z():
    assert drift.effective_rows(100, 100) == 50
    assert drift.effective_rows(0, 100) == 0
    assert drift.z_of(0.001) == pytest.approx(Z_999)


def test_wasserstein_in_sd_units_and_the_spread_integral():
    assert drift.wasserstein_sd(np.array([0.0, 1.0]), np.array([1.0, 2.0]), 2.0) == 0.5
    assert drift.wasserstein_sd(np.array([1.0]), np.array([1.0]), 0.0) == 0.0
    assert drift.wasserstein_sd(np.array([1.0]), np.array([2.0]), 0.0) == math.inf
    assert drift.wasserstein_sd(np.array([]), np.array([2.0]), 1.0) == 0.0
    # F = 1/2 between the two values: sqrt(1/4) * 1
    assert drift.spread_integral(np.array([1.0, 0.0])) == 0.5
    assert drift.spread_integral(np.array([3.0])) == 0.0


def test_numeric_noise_bound():
    expected = (math.sqrt(2 / math.pi) + Z_999 * math.sqrt(1 - 2 / math.pi)) * 2.0 / 10
    assert drift.numeric_noise(2.0, 100, 0.001) == pytest.approx(expected)
    assert drift.numeric_noise(1.0, 0, 0.001) == math.inf


def test_psi_and_deciles():
    assert drift.psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(0.25 * math.log(3))
    assert drift.psi(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    edges = drift.decile_edges(np.arange(11.0))
    np.testing.assert_allclose(edges, [1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert drift.binned_shares(np.array([0.5, 1.0, 9.5]), edges).tolist() == [1 / 3, 1 / 3] + [0] * 7 + [
        1 / 3
    ]
    assert drift.decile_edges(np.array([])).size == 0


def test_numeric_check_takes_the_larger_of_floor_and_noise():
    reference = np.arange(10.0)
    small = drift.numeric_check(reference, reference + 1, 2.0, Thresholds())
    assert small.statistic == 0.5 and small.reference_rows == small.new_rows == 10
    assert small.threshold == pytest.approx(
        drift.numeric_noise(drift.spread_integral(reference) / 2, 5, 0.001)
    )
    assert small.threshold > 0.1 and not small.drifted
    assert small.detail["reference_mean"] == 4.5 and small.detail["new_mean"] == 5.5
    loose = drift.numeric_check(reference, reference + 1, 2.0, Thresholds(numeric_floor=10))
    assert loose.threshold == 10


def test_categorical_shares_distance_and_noise():
    names, p, q = drift.category_shares({"a": 3, "b": 1}, {"a": 1, "c": 1})
    assert names == ["a", "b", drift.UNSEEN]
    assert p.tolist() == [0.75, 0.25, 0] and q.tolist() == [0.5, 0, 0.5]
    assert drift.js_distance(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(1.0)
    assert drift.js_distance(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0
    assert drift.js_distance(np.array([0.0]), np.array([1.0])) == 0.0
    assert drift.categorical_noise(2, 100, 0.001) == pytest.approx(
        math.sqrt(10.827566170662733 / (800 * math.log(2)))
    )
    assert drift.categorical_noise(1, 100, 0.001) == 0.0
    assert drift.categorical_noise(3, 0, 0.001) == math.inf


def test_categorical_checks_flag_unseen_values_against_good_turing():
    js, unseen = drift.categorical_checks({"a": 500, "b": 499, "c": 1}, {"a": 50, "z": 50}, Thresholds())
    assert js.check == "jensen_shannon" and js.drifted
    assert unseen.statistic == 0.5 and unseen.detail["expected"] == 0.001
    assert unseen.threshold == pytest.approx(max(0.05, 0.001 + Z_999 * math.sqrt(0.001 / 100)))
    assert unseen.drifted


def test_missing_rate_change():
    found = drift.missing_check(10, 100, 30, 100, Thresholds())
    assert found.statistic == pytest.approx(0.2)
    noise = drift.z_of(0.0005) * math.sqrt(0.2 * 0.8 / 50)
    assert found.detail["noise_bound"] == pytest.approx(noise)
    assert found.threshold == pytest.approx(max(0.1, noise)) and found.drifted  # 0.2 > 0.186
    assert drift.missing_check(0, 100, 0, 100, Thresholds()).threshold == 0.1
    assert drift.missing_check(0, 0, 0, 0, Thresholds()).threshold == math.inf


def test_schema_checks_always_drift_and_ranking():
    gone = drift.schema_check("numeric", "column gone", 10)
    assert gone.drifted and gone.score == math.inf and gone.to_dict()["score"] is None
    assert gone.to_dict()["verdict"] == "drift"
    quiet = Check("wasserstein", 0.05, 0.1, 1, 1)
    loud = Check("wasserstein", 0.3, 0.1, 1, 1)
    assert quiet.score == 0.5 and Check("schema", 0.0, 0.0, 1, 1).score == 0.0
    ranked = drift.rank(
        [
            FeatureDrift("b", "numeric", [quiet]),
            FeatureDrift("a", "numeric", [quiet]),
            FeatureDrift("c", "numeric", [loud]),
        ]
    )
    assert [f.name for f in ranked] == ["c", "a", "b"]
    assert FeatureDrift("e", "numeric", []).to_dict()["worst_check"] is None


def test_compare_summaries_of_both_sides():
    kinds = {"x": "numeric", "k": "categorical"}
    reference, new = FeatureStats(kinds), FeatureStats({**kinds, "y": "numeric"})
    reference.add({"x": np.arange(100.0), "k": np.array(["a", "b"] * 50, dtype=object)})
    new.add({"x": np.arange(100.0) + 50, "k": np.array(["a", ""] * 50, dtype=object), "y": np.zeros(100)})
    found = drift.compare(reference, new, Thresholds())
    assert [f.name for f in found] == ["x", "k"]  # both drifted; x by more times its threshold
    assert found[0].score > found[1].score > 1
    k = found[1]
    assert [c.check for c in k.checks] == ["jensen_shannon", "unseen_share", "missing_rate"]
    # observed shares (1/2, 1/2) against (1, 0): mixture (3/4, 1/4)
    js = math.sqrt(0.5 * (0.5 * math.log2(2 / 3) + 0.5) + 0.5 * math.log2(4 / 3))
    assert k.checks[0].statistic == pytest.approx(js) and k.checks[2].statistic == 0.5
    assert found[0].checks[0].statistic == pytest.approx(50 / np.std(np.arange(100.0)))


def test_rare_categories_are_pooled_for_the_chi_square_law():
    names = ["a", "b", "c", "d", drift.UNSEEN]
    p, q = np.array([0.9, 0.06, 0.03, 0.01, 0.0]), np.array([0.8, 0.1, 0.05, 0.0, 0.05])
    kept, p2, q2 = drift.pooled(names, p, q, 100)  # expected counts 90, 6, 3, 1, 0
    assert kept == ["a", "b", drift.POOLED]
    np.testing.assert_allclose(p2, [0.9, 0.06, 0.04])
    np.testing.assert_allclose(q2, [0.8, 0.1, 0.1])
    assert drift.pooled(names, p, q, 10_000)[0] == names[:4] + [drift.UNSEEN]  # only one rare: none pooled
