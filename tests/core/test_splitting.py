import numpy as np
import pandas as pd
import pytest

from pipeline.core.errors import DataError
from pipeline.core.splitting import class_labels, encode_labels, strata, stratified_split


def test_regression_strata_are_quantile_bins():
    bins = strata(pd.Series(np.arange(100.0)), "regression", [])
    assert np.bincount(bins).tolist() == [20, 20, 20, 20, 20]
    assert bins[:3].tolist() == [0, 0, 0] and bins[-1] == 4


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


def test_assignment_names_each_rows_split_for_a_batch_by_batch_writer():
    split = stratified_split(np.array([0, 1] * 10), val_size=0.15, holdout_size=0.2, seed=0)
    which = split.assignment(20)
    for code, name in enumerate(("train", "val", "holdout")):
        assert np.flatnonzero(which == code).tolist() == getattr(split, name).tolist()


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
