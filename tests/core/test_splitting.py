import numpy as np
import pandas as pd
import pytest

from pipeline.core.errors import DataError
from pipeline.core.splitting import check_table, class_labels, encode_labels, stratified_split


def table(**columns):
    return pd.DataFrame(columns)


def test_check_table_returns_features_in_order():
    assert check_table(table(b=[1.0, 2], a=[3, 4], y=[0, 1]), "y", "t.csv") == ["b", "a"]


@pytest.mark.parametrize(
    ("frame", "target", "expected"),
    [
        (pd.DataFrame(), "y", "the table is empty"),
        (table(a=[1, 2], y=[0, 1]), "label", r"data.target 'label' is not a column. Columns: a, y"),
        (table(y=[0, 1]), "y", "no feature columns"),
        (table(a=["x", "z"], b=[1, 2], y=[0, 1]), "y", r"non-numeric feature column\(s\) \['a'\]"),
        (table(a=[1.0, np.nan], y=[0, 1]), "y", r"\['a'\] contain empty, NaN or infinite"),
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
