import numpy as np
import pandas as pd
import pytest

from pipeline.core.errors import DataError
from pipeline.core.splitting import (
    check_table,
    class_labels,
    encode_labels,
    feature_frame,
    strata,
    stratified_split,
)


def table(**columns):
    return pd.DataFrame(columns)


def test_check_table_returns_features_in_order():
    assert check_table(table(b=[1.0, 2], a=[3, 4], y=[0, 1]), "y", "t.csv").features == ["b", "a"]


def mixed() -> pd.DataFrame:
    return table(a=[1.0, 2.0, 3.0], colour=["red", "blue", "red"],
                 day=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
                 notes=[None, None, None], y=[0, 1, 0])


def test_non_numeric_columns_are_refused_by_name_by_default():
    with pytest.raises(DataError, match=r"not numbers: 'colour' \(text\); 'day' \(date\); 'notes' "
                                        r"\(all empty\)\. Fix: set data.non_numeric to drop"):
        check_table(mixed(), "y", "t.csv")


def test_drop_keeps_only_numeric_columns_and_says_what_went():
    columns = check_table(mixed(), "y", "t.csv", "drop")
    assert columns.features == ["a"]
    assert columns.dropped == {"colour": "text", "day": "date", "notes": "all empty"}


def test_one_hot_encodes_text_columns_and_drops_dates_and_empty_ones():
    frame = mixed()
    columns = check_table(frame, "y", "t.csv", "one_hot")
    assert columns.features == ["a", "colour=blue", "colour=red"]
    assert columns.one_hot == {"colour": ["blue", "red"]}
    assert columns.dropped == {"day": "date", "notes": "all empty"}
    encoded = feature_frame(frame, columns)
    assert encoded.to_dict("list") == {"a": [1.0, 2.0, 3.0], "colour=blue": [0.0, 1.0, 0.0],
                                       "colour=red": [1.0, 0.0, 1.0]}


def test_one_hot_refuses_a_column_with_too_many_categories():
    frame = table(a=list(range(60)), id=[f"row{i}" for i in range(60)], y=[0, 1] * 30)
    with pytest.raises(DataError, match="text column 'id' has 60 distinct values, too many"):
        check_table(frame, "y", "t.csv", "one_hot")


def test_duplicate_columns_are_refused():
    frame = pd.DataFrame([[1, 2, 0], [3, 4, 1]], columns=["a", "a", "y"])
    with pytest.raises(DataError, match=r"duplicate column name\(s\) \['a'\]"):
        check_table(frame, "y", "t.csv")


def test_regression_strata_are_quantile_bins():
    bins = strata(pd.Series(np.arange(100.0)), "regression", [])
    assert np.bincount(bins).tolist() == [20, 20, 20, 20, 20]
    assert bins[:3].tolist() == [0, 0, 0] and bins[-1] == 4


@pytest.mark.parametrize(
    ("frame", "target", "expected"),
    [
        (pd.DataFrame(), "y", "the table is empty"),
        (table(a=[1, 2], y=[0, 1]), "label", r"data.target 'label' is not a column. Columns: a, y"),
        (table(y=[0, 1]), "y", "no feature columns"),
        (table(a=["x", "z"], b=[1, 2], y=[0, 1]), "y", r"not numbers: 'a' \(text\)"),
        (table(a=[1.0, np.nan], y=[0, 1]), "y",
         r"\['a'\] contain empty, NaN or infinite values \(first in data row 2\)"),
        (table(a=[1.0, 1e39], y=[0, 1]), "y", r"\['a'\] exceed the float32 range"),
        (table(a=[1.0, np.inf], y=[0, 1]), "y", r"\['a'\] contain empty"),
        (table(a=[1.0, 2.0], y=[0, None]), "y", "target column 'y' has 1 empty value"),
    ],
)
def test_check_table_refuses_with_the_column_and_fix(frame, target, expected):
    with pytest.raises(DataError, match=expected):
        check_table(frame, target, "t.csv")


def test_labels_are_sorted_and_encoded_by_position():
    target = pd.Series(["malignant", "benign", "benign"])
    labels = class_labels(target)
    assert labels == ["benign", "malignant"]
    assert encode_labels(target, labels).tolist() == [1, 0, 0]


def test_unknown_label_is_refused():
    with pytest.raises(DataError, match="label 'x' is not one of the known classes"):
        encode_labels(["x"], ["a", "b"])


def test_stratified_split_keeps_class_shares_and_covers_every_row():
    y = np.array([0] * 60 + [1] * 40)
    split = stratified_split(y, val_size=0.15, holdout_size=0.2, seed=0)
    assert split.sizes() == {"train": 65, "val": 15, "holdout": 20}
    everything = np.concatenate([split.train, split.val, split.holdout])
    assert sorted(everything.tolist()) == list(range(100))
    # 20 % of each class in the holdout: 12 of class 0, 8 of class 1.
    assert np.bincount(y[split.holdout]).tolist() == [12, 8]
    assert np.bincount(y[split.val]).tolist() == [9, 6]


def test_stratified_split_depends_on_the_seed_only():
    y = np.array([0, 1] * 50)
    a = stratified_split(y, 0.15, 0.2, seed=3)
    b = stratified_split(y, 0.15, 0.2, seed=3)
    c = stratified_split(y, 0.15, 0.2, seed=4)
    assert a.holdout.tolist() == b.holdout.tolist()
    assert a.holdout.tolist() != c.holdout.tolist()


def test_class_too_small_to_stratify_is_named():
    y = np.array([0] * 50 + [1] * 2)
    with pytest.raises(DataError, match="class 1 has only 2 row"):
        stratified_split(y, 0.15, 0.2, seed=0)
    with pytest.raises(DataError, match="class 'rare' has only 2 row"):
        stratified_split(y, 0.15, 0.2, seed=0, labels=["common", "rare"])
