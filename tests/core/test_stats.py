import numpy as np

from pipeline.core.stats import Moments, TrainingStats


def test_moments_merged_block_by_block_equal_those_of_the_whole():
    rng = np.random.default_rng(0)
    x = rng.normal(loc=1e6, scale=3.0, size=(1000, 4))  # a large mean: naive sums of squares lose it
    merged = Moments.of(x[:1])
    for start in range(1, 1000, 137):
        merged = merged.merge(Moments.of(x[start:start + 137]))
    assert merged.count == 1000
    np.testing.assert_allclose(merged.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(merged.variance, x.var(axis=0), rtol=1e-9)


def test_training_stats_keep_the_target_only_when_given():
    x, y = np.array([[1.0], [3.0]]), np.array([10.0, 20.0])
    stats = TrainingStats.of(x[:1], y[:1]).merge(TrainingStats.of(x[1:], y[1:]))
    assert (stats.width, stats.features.mean.tolist(), stats.features.variance.tolist()) == (1, [2.0], [1.0])
    assert (stats.target.mean.tolist(), stats.target.variance.tolist()) == ([15.0], [25.0])
    assert TrainingStats.of(x).merge(TrainingStats.of(x)).target is None
