import numpy as np
import pandas as pd

from pipeline.core import stats as s
from pipeline.core.contract import CATEGORICAL, EMBEDDING, NUMERIC, ONE_HOT
from pipeline.core.schema import Column, Schema
from pipeline.core.stats import CategorySummary, FeatureStats, Moments, NumericSummary, feature_contract


def test_moments_merged_block_by_block_equal_those_of_the_whole():
    rng = np.random.default_rng(0)
    x = rng.normal(loc=1e6, scale=3.0, size=(1000, 4))  # a large mean: naive sums of squares lose it
    merged = Moments.of(x[:1])
    for start in range(1, 1000, 137):
        merged = merged.merge(Moments.of(x[start : start + 137]))
    assert merged.count == 1000
    np.testing.assert_allclose(merged.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(merged.variance, x.var(axis=0), rtol=1e-9)


def test_a_numeric_summary_ignores_missing_values_and_counts_them():
    summary = NumericSummary()
    summary.add(np.array([1.0, np.nan, 3.0]))
    summary.add(np.array([np.inf, 8.0]))
    assert (summary.missing, summary.median, summary.moments.count) == (2, 3.0, 3)
    assert summary.moments.mean.tolist() == [4.0]


def test_the_median_is_exact_up_to_the_sample_and_close_beyond(monkeypatch):
    monkeypatch.setattr(s, "MEDIAN_SAMPLE", 1000)
    values = np.random.default_rng(1).exponential(size=20_000)
    summary = NumericSummary(seed=3)
    for block in np.array_split(values, 37):
        summary.add(block)
    assert abs(summary.median - np.median(values)) < 0.06  # a 1000-value sample of 20,000
    small = NumericSummary()
    small.add(values[:999])
    assert small.median == np.median(values[:999])


def test_categories_most_frequent_first_and_missing_counted():
    summary = CategorySummary()
    summary.add(np.array(["b", "a", "", "b"], dtype=object))
    summary.add(np.array(["a", "c", "b"], dtype=object))
    assert summary.vocabulary() == ["b", "a", "", "c"] and summary.missing == 1


def test_the_contract_holds_what_the_training_split_taught():
    schema = Schema(
        columns=[
            Column("x/y", NUMERIC, "numbers"),
            Column("id", "dropped", "unique per row"),
            Column("colour", CATEGORICAL, "text"),
            Column("flat", NUMERIC, "numbers"),
        ],
        target="label",
        task="binary",
        class_labels=["no", "yes"],
    )
    stats = FeatureStats(schema.kinds)
    stats.add(
        {
            "x/y": np.array([1.0, np.nan, 5.0]),
            "colour": np.array(["r", "g", "r"], dtype=object),
            "flat": np.array([2.0, 2.0, 2.0]),
        }
    )
    contract = feature_contract(schema, stats, embed_above=1)
    xy, colour, flat = contract.features
    assert (xy.input, xy.median, xy.mean, xy.variance, xy.indicator, xy.missing_count) == (
        "x_y",
        3.0,
        3.0,
        4.0,
        True,
        1,
    )
    assert (flat.indicator, flat.variance) == (False, 0.0)
    assert (colour.categories, colour.encoding) == (["r", "g"], EMBEDDING)
    assert contract.ignored == {"label": "the target", "id": "unique per row"}
    assert feature_contract(schema, stats, embed_above=2).features[1].encoding == ONE_HOT


def test_a_frame_in_memory_gives_the_same_contract():
    frame = pd.DataFrame({"a": [1.0, None, 3.0], "c": [True, False, None]})
    contract, _ = s.frame_contract(frame, {"a": NUMERIC, "c": "boolean"})
    assert contract.features[1].categories == ["", "false", "true"]
    assert contract.features[0].median == 2.0


def test_merging_with_no_values_changes_nothing():
    some = Moments.of(np.array([1.0, 2.0, 4.0]))
    empty = Moments(0, np.zeros(1), np.zeros(1))  # what a summary starts from
    assert empty.merge(some) is some and some.merge(empty) is some
    assert empty.variance.tolist() == [0.0]
