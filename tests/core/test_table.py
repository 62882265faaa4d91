"""Column kinds decided and explained, and `data.missing`, on frames in memory and batch by batch
(as prepare streams them)."""

import numpy as np
import pandas as pd
import pytest

from pipeline.core import table as table_module
from pipeline.core.errors import DataError
from pipeline.core.schema import Column
from pipeline.core.table import TableScan, check_table, looks_like_an_id


def table(**columns):
    return pd.DataFrame(columns)


def kinds(settled) -> dict[str, tuple[str, str]]:
    return {c.name: (c.kind, c.reason) for c in settled.columns}


def messy(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    age = rng.normal(40, 10, n).round(1)
    age[::5] = np.nan  # 20 % missing
    colour = rng.choice(["red", "green", "blue"], n).astype(object)
    colour[[3, 7]] = [None, ""]
    return table(
        PassengerId=np.arange(1, n + 1),
        name=[f"Person {i}" for i in range(n)],
        colour=colour,
        age=age,
        count=rng.integers(0, 5, n),
        alone=[True, False] * (n // 2),
        ship="Titanic",
        day=pd.date_range("2024-01-01", periods=n, freq="D"),
        notes=[None] * n,
        y=[0, 1] * (n // 2),
    )


def test_every_column_gets_a_kind_and_the_reason_for_it():
    settled = check_table(messy(), "y")
    assert kinds(settled) == {
        "PassengerId": ("dropped", "unique per row (an identifier)"),
        "name": ("dropped", "unique per row (an identifier or a name: 40 distinct values)"),
        "colour": ("categorical", "text with 3 distinct values"),
        "age": ("numeric", "numbers (30 distinct values)"),
        "count": ("numeric", "integers (5 distinct values; codes? list it in data.categorical)"),
        "alone": ("boolean", "true/false values"),
        "ship": ("dropped", "constant (every row holds 'Titanic')"),
        "day": ("dropped", "a date (list it in data.categorical to use its values as categories)"),
        "notes": ("dropped", "all empty"),
    }
    assert {c.name: c.missing for c in settled.columns} == {
        "PassengerId": 0,
        "name": 0,
        "colour": 2,
        "age": 8,
        "count": 0,
        "alone": 0,
        "ship": 0,
        "day": 0,
        "notes": 40,
    }
    assert {c.name: c.distinct for c in settled.columns}["colour"] == 3
    assert settled.kept.rows.tolist() == list(range(40))  # impute: every row stays
    assert settled.kept.dropped == {"missing_target": 0, "missing_values": 0}


def test_overrides_win_over_what_prepare_would_decide():
    settled = check_table(messy(), "y", categorical=["count", "day"], drop=["colour"], numeric=["notes"])
    decided = kinds(settled)
    assert decided["count"] == ("categorical", "listed in data.categorical")
    assert decided["day"] == ("categorical", "listed in data.categorical")
    assert decided["colour"] == ("dropped", "listed in data.drop")
    assert decided["notes"] == ("numeric", "listed in data.numeric")


def test_an_override_naming_no_column_is_refused_with_the_columns():
    with pytest.raises(
        DataError,
        match=r"data.drop names 'colr': not a feature column. Columns: a, colour\. "
        r"Fix: correct or remove",
    ):
        check_table(table(a=[1.0, 2.0], colour=["r", "g"], y=[0, 1]), "y", "t.csv", drop=["colr"])


def test_a_text_column_listed_as_numeric_is_refused_with_the_fix():
    with pytest.raises(
        DataError,
        match=r"data.numeric lists column\(s\) that do not hold numbers: 'colour' "
        r"\(text\). Fix: remove them from data.numeric",
    ):
        check_table(table(a=[1.0, 2.0], colour=["r", "g"], y=[0, 1]), "y", "t.csv", numeric=["colour"])


def test_no_feature_left_is_refused_listing_every_dropped_column_and_why():
    frame = table(id=[1, 2, 3], same=[5, 5, 5], y=[0, 1, 0])
    with pytest.raises(
        DataError,
        match=r"no feature column remains. Dropped: 'id': unique per row \(an "
        r"identifier\); 'same': constant \(every row holds 5\)\. Fix:",
    ):
        check_table(frame, "y", "t.csv")
    kept = check_table(frame, "y", "t.csv", numeric=["id"])
    assert kinds(kept)["id"] == ("numeric", "listed in data.numeric")


@pytest.mark.parametrize(
    "name", ["id", "ID", "user_id", "PassengerId", "customerID", "row key", "index", "uuid"]
)
def test_names_that_say_identifier(name):
    assert looks_like_an_id(name)


@pytest.mark.parametrize("name", ["paid", "valid", "Fluid", "width", "identity", "keyboard"])
def test_names_that_do_not(name):
    assert not looks_like_an_id(name)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # Strictly increasing or decreasing in row order, not named as an id: a row number.
        (list(range(10, 50)), ("dropped", "a row index (integers strictly increasing in row order)")),
        (list(range(50, 10, -1)), ("dropped", "a row index (integers strictly decreasing in row order)")),
        # 40 distinct integers within 45 values, shuffled: 40² / (2·45) = 17.8 > ln(10⁶).
        (
            list(np.random.default_rng(0).permutation(45)[:40]),
            (
                "dropped",
                "unique per row (an identifier: 40 distinct integers within a range of 45, "
                "which chance would not give)",
            ),
        ),
        # 40 distinct integers spread over a million: a quantity that merely never repeats.
        (
            list(np.random.default_rng(0).permutation(1_000_000)[:40]),
            ("numeric", "integers (40 distinct values; codes? list it in data.categorical)"),
        ),
        # Real numbers that never repeat are what measurements look like.
        (list(np.linspace(0, 1, 40)), ("numeric", "numbers (40 distinct values)")),
        # One value next to missing ones still says something (was it missing?).
        ([1.0, np.nan] * 20, ("numeric", "integers (1 distinct values; codes? list it in data.categorical)")),
    ],
)
def test_unique_integers_are_an_identifier_only_when_chance_cannot_explain_it(values, expected):
    assert kinds(check_table(table(a=np.arange(40) % 3 * 1.5, v=values, y=[0, 1] * 20), "y"))["v"] == expected


def test_free_text_has_more_distinct_values_than_max_categories():
    words = [f"w{i % 30}" for i in range(60)]
    frame = table(a=np.arange(60) % 7 * 1.0, text=words, y=[0, 1] * 30)
    assert kinds(check_table(frame, "y", max_categories=29))["text"] == (
        "dropped",
        "free text (30 distinct values, more than data.max_categories = 29)",
    )
    assert kinds(check_table(frame, "y", max_categories=30))["text"] == (
        "categorical",
        "text with 30 distinct values",
    )
    assert kinds(check_table(frame, "y", max_categories=29, categorical=["text"]))["text"] == (
        "categorical",
        "listed in data.categorical",
    )


def test_distinct_values_past_the_cap_are_counted_as_more_than(monkeypatch):
    monkeypatch.setattr(table_module, "COUNTED_DISTINCT", 10)
    frame = table(a=np.arange(60) % 7 * 1.0, text=[f"w{i % 30}" for i in range(60)], y=[0, 1] * 30)
    settled = check_table(frame, "y", max_categories=5)
    assert kinds(settled)["text"] == (
        "dropped",
        "free text (more than 10 distinct values, more than data.max_categories = 5)",
    )
    assert settled.columns[1] == Column("text", "dropped", kinds(settled)["text"][1], 0, None)


def test_a_number_column_with_a_typo_says_which_value_is_not_a_number():
    values = [str(v % 10) for v in range(30)] + ["oops"] + [str(v) for v in range(9)]
    kind, reason = kinds(check_table(table(a=np.arange(40.0) % 4, v=values, y=[0, 1] * 20), "y"))["v"]
    assert kind == "categorical"
    assert reason == (
        "text with 11 distinct values; 39 of 40 values are numbers but 'oops' (data row 31) is "
        "not: if the column is numeric, fix that value in the table"
    )


def test_text_that_mostly_never_repeats_is_a_name_not_categories():
    names = [f"car {v}" for v in range(30)] + ["car 1"] * 10  # 30 distinct in 40 rows, as car models are
    found = kinds(check_table(table(a=np.arange(40.0) % 4, name=names, y=[0, 1] * 20), "y"))
    assert found["name"] == (
        "dropped",
        "mostly unique text (a name or free text: 30 distinct values in 40 rows; "
        "list it in data.categorical to use it)",
    )
    few = kinds(
        check_table(
            table(a=np.arange(10.0) % 4, name=[f"c{v}" for v in range(9)] + ["c1"], y=[0, 1] * 5), "y"
        )
    )
    assert few["name"][0] == "categorical"  # ten rows are too few to tell


def test_missing_values_are_null_nan_empty_text_and_infinities():
    frame = table(
        n=[1.0, np.nan, np.inf, -np.inf, 5.0, 1.0],
        t=["a", None, "", "b", "a", "b"],
        b=[True, None, False, True, True, False],
        y=[0, 1, 0, 1, 0, 1],
    )
    settled = check_table(frame, "y")
    assert {c.name: (c.kind, c.missing, c.distinct) for c in settled.columns} == {
        "n": ("numeric", 3, 2),
        "t": ("categorical", 2, 2),
        "b": ("boolean", 1, 2),
    }


def test_rows_without_a_target_are_always_dropped_and_counted():
    frame = table(a=[1.0, 2.0, 3.0, 4.0, np.nan], y=[0, None, 1, np.nan, 1])
    for policy in ("impute", "drop"):
        kept = check_table(frame, "y", missing=policy).kept
        assert kept.rows.tolist() == ([0, 2, 4] if policy == "impute" else [0, 2])
        assert kept.dropped == {"missing_target": 2, "missing_values": 0 if policy == "impute" else 1}


def test_drop_leaves_out_rows_missing_a_kept_feature_only():
    frame = table(
        a=[1.0, np.nan, 3.0, 4.0, 5.0, 6.0],
        t=["x", "y", None, "x", "y", "x"],
        gone=[None, None, None, None, 1.0, None],
        y=[0, 1, 0, None, 0, 1],
    )
    settled = check_table(frame, "y", missing="drop", drop=["gone"])
    assert settled.kept.rows.tolist() == [0, 4, 5]
    # Row 3 has no target: counted there, not twice.
    assert settled.kept.dropped == {"missing_target": 1, "missing_values": 2}


def test_refuse_names_every_column_with_its_count_and_first_row():
    frame = table(a=[1.0, 2.0, np.nan, np.nan], t=["x", "", "y", "x"], ok=[1, 2, 3, 1], y=[0, 1, 0, 1])
    with pytest.raises(
        DataError,
        match=r"^t.csv: feature column\(s\) with missing values \(empty, NaN "
        r"or infinite\): 'a' \(2 missing, first in data row 3\), 't' \(1 "
        r"missing, first in data row 2\)\. Fix: set data.missing to impute "
        r"\(the model fills them in\) or drop",
    ):
        check_table(frame, "y", "t.csv", missing="refuse")
    # A dropped column's missing values are no reason to refuse.
    kept = check_table(frame, "y", "t.csv", missing="refuse", drop=["a", "t"]).kept
    assert kept.rows.tolist() == [0, 1, 2, 3]


def test_duplicate_columns_are_refused():
    frame = pd.DataFrame([[1, 2, 0], [3, 4, 1]], columns=["a", "a", "y"])
    with pytest.raises(DataError, match=r"duplicate column name\(s\) \['a'\]"):
        check_table(frame, "y", "t.csv")


@pytest.mark.parametrize(
    ("frame", "target", "expected"),
    [
        (pd.DataFrame(), "y", "the table is empty"),
        (table(a=[], y=[]), "y", "the table is empty"),
        (table(a=[1, 2], y=[0, 1]), "label", r"data.target 'label' is not a column. Columns: a, y"),
        (table(y=[0, 1]), "y", "no feature columns"),
        (table(a=[1.0, 1e39], b=[1, 2], y=[0, 1]), "y", r"column\(s\) \['a'\] exceed the float32 range"),
    ],
)
def test_check_table_refuses_with_the_column_and_fix(frame, target, expected):
    with pytest.raises(DataError, match=expected):
        check_table(frame, target, "t.csv")


def scanned(frame: pd.DataFrame, rows: int, **options) -> TableScan:
    scan = TableScan(list(frame.columns), "y", "t.csv", **options)
    for start in range(0, len(frame), rows):
        scan.add(frame.iloc[start : start + rows])
    return scan


def test_batches_decide_the_same_as_the_whole_table():
    frame = messy().assign(
        late=[None] * 30 + ["x", "y"] * 5, repeat=list(range(39)) + [0]
    )  # unique but for one value, in the last batch
    frame.loc[[4, 33], "y"] = None
    whole = check_table(frame, "y", "t.csv", missing="drop")
    scan = scanned(frame, rows=3, missing_rows=True)
    streamed = table_module.settle(scan, missing="drop")
    assert streamed.columns == whole.columns
    assert streamed.kept.rows.tolist() == whole.kept.rows.tolist()
    assert streamed.kept.dropped == whole.kept.dropped
    assert kinds(whole)["late"] == ("categorical", "text with 2 distinct values")
    assert kinds(whole)["repeat"][0] == "numeric"
    assert scan.rows == 40
    assert scan.target_missing_rows().tolist() == [4, 33]
    assert whole.kept.dropped == {"missing_target": 2, "missing_values": 31}  # rows 0-29, 30, 35 but 4


def test_a_row_index_broken_in_a_later_batch_is_not_one():
    frame = table(a=np.arange(40) % 3 * 1.0, i=[*range(30), 5, *range(31, 40)], y=[0, 1] * 20)
    assert kinds(table_module.settle(scanned(frame, rows=4)))["i"][0] == "numeric"
    frame["i"] = range(40)
    assert kinds(table_module.settle(scanned(frame, rows=4)))["i"][0] == "dropped"


def test_a_column_numeric_in_one_batch_and_text_in_another_is_text():
    frame = table(a=[1.0, 2.0, 3.0, 4.0], b=[1.0, 2.0, 1.0, 2.0], y=[0, 1, 0, 1])
    scan = TableScan(["a", "b", "y"], "y", "t.csv")
    scan.add(frame.iloc[:2])
    scan.add(frame.iloc[2:].assign(a=["x", "z"]))
    assert scan.seen["a"].kind == "text"
