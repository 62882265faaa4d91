"""The raw table's checks, on a frame in memory and batch by batch (as prepare streams it)."""

import numpy as np
import pandas as pd
import pytest

from pipeline.core.errors import DataError
from pipeline.core.splitting import feature_frame
from pipeline.core.table import TableScan, check_table


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




def scanned(frame: pd.DataFrame, rows: int) -> TableScan:
    scan = TableScan(list(frame.columns), "y", "t.csv")
    for start in range(0, len(frame), rows):
        scan.add(frame.iloc[start:start + rows])
    return scan


def test_batches_settle_the_same_columns_as_the_whole_table():
    frame = table(a=np.arange(9.0), colour=["red", "blue", "green"] * 3,
                  late=[None, None, None, None, None, None, "x", "y", "x"], y=[0, 1, 2] * 3)
    whole = check_table(frame, "y", "t.csv", "one_hot")
    scan = scanned(frame, rows=2)
    assert scan.settle("one_hot") == whole
    assert whole.one_hot == {"colour": ["blue", "green", "red"], "late": ["x", "y"]}
    assert scan.rows == 9
    assert scan.target_column().tolist() == [0, 1, 2] * 3


def test_a_bad_row_in_a_later_batch_is_named_by_its_row_in_the_whole_table():
    frame = table(a=[1.0] * 7 + [np.nan, 1.0], b=[np.nan] * 3 + [1.0] * 6, y=[0, 1] * 4 + [0])
    with pytest.raises(DataError, match=r"\['a', 'b'\] contain empty, NaN or infinite values "
                                        r"\(first in data row 1\)"):
        scanned(frame, rows=3).settle()
    with pytest.raises(DataError, match=r"\['a'\] contain empty, NaN or infinite values \(first in data "
                                        r"row 8\)"):
        scanned(frame.drop(columns="b"), rows=3).settle()


def test_a_column_numeric_in_one_batch_and_text_in_another_is_text():
    frame = table(a=[1.0, 2.0, 3.0, 4.0], y=[0, 1, 0, 1])
    scan = TableScan(["a", "y"], "y", "t.csv")
    scan.add(frame.iloc[:2])
    scan.add(frame.iloc[2:].assign(a=["x", "z"]))
    with pytest.raises(DataError, match=r"not numbers: 'a' \(text\)"):
        scan.settle()
