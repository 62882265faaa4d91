import numpy as np
import pandas as pd
import pytest

from pipeline.core.batch import check_columns, check_rows, numeric_spelling
from pipeline.core.contract import BOOLEAN, CATEGORICAL, NUMERIC, Contract, FeatureSpec
from pipeline.core.errors import DataError
from pipeline.core.rows import model_inputs

FEATURES = [
    FeatureSpec("mass", NUMERIC, "mass", median=4000.0),
    FeatureSpec("island", CATEGORICAL, "island", categories=["Biscoe", "Dream", ""]),
    FeatureSpec("smoker", BOOLEAN, "smoker", categories=["false", "true"]),
    FeatureSpec("code", CATEGORICAL, "code", categories=["3", "12", "2.5"]),  # integers in training
]
CONTRACT = Contract(
    features=FEATURES,
    target="species",
    task="binary",
    class_labels=["a", "b"],
    ignored={"species": "the target", "id": "unique per row (an identifier)"},
)


def column(checked, name):
    return checked.inputs[name].ravel().tolist()


def test_a_missing_feature_column_fails_the_file_and_other_columns_pass():
    check_columns(["id", "smoker", "code", "island", "mass", "species", "notes"], CONTRACT, "new.csv")
    with pytest.raises(DataError) as refused:
        check_columns(["mass", "smoker", "species"], CONTRACT, "new.csv")
    assert str(refused.value) == (
        "new.csv: feature column(s) ['island', 'code'] missing. The model takes 4 raw columns: "
        "['mass', 'island', 'smoker', 'code'] (see /metadata); other columns (such as 'species') "
        "are passed through. Fix: add the missing column(s) to the file; an empty cell is a missing value."
    )


def test_typed_rows_parquet_bad_values_are_set_aside_with_their_reason_and_nulls_are_missing():
    frame = pd.DataFrame(
        {
            "species": ["a", "b", "a", "b", "a", "b"],
            "mass": [3750.0, np.nan, np.inf, 1e39, 5.0, 6.0],
            "island": ["Biscoe", None, "Atlantis", "Dream", "", "Dream"],
            "smoker": [True, False, None, True, True, False],
            "code": [3, 12, 3, 12, 3, 7],
        }
    )
    frame["smoker"] = frame["smoker"].astype(object)
    checked = check_rows(frame, FEATURES)
    assert checked.valid.tolist() == [True, True, False, False, True, True]
    assert checked.reasons == [
        "mass: inf is not a finite float32 number (numeric feature)",
        "mass: 1e+39 is not a finite float32 number (numeric feature)",
    ]
    np.testing.assert_array_equal(
        checked.inputs["mass"].ravel(), np.array([3750, np.nan, 5, 6], dtype="float32")
    )
    assert column(checked, "island") == ["Biscoe", "", "", "Dream"]
    assert column(checked, "smoker") == ["true", "false", "true", "false"]
    assert column(checked, "code") == ["3", "12", "3", "7"]
    assert checked.inputs["mass"].dtype == np.float32 and checked.inputs["code"].shape == (4, 1)


def test_typed_rows_refuse_text_and_booleans_where_a_number_goes_and_spellings_training_never_gave():
    frame = pd.DataFrame(
        {
            "mass": ["3.5", 4, True, None, "abc"],
            "island": ["Dream", ["a"], "Dream", "Dream", "Dream"],
            "smoker": ["true", "false", "True", "yes", None],
            "code": ["3.0", 3, 2.5, 12.0, None],
        }
    )
    checked = check_rows(frame, FEATURES)
    assert checked.valid.tolist() == [False, False, False, False, False]
    assert checked.reasons == [
        "mass: '3.5' is not a number (numeric feature)",
        "island: ['a'] is not a category: send text, a number or true/false (categorical feature)",
        "mass: True is not a number (numeric feature); smoker: 'True' is not true or false (boolean feature)",
        "smoker: 'yes' is not true or false (boolean feature)",
        "mass: 'abc' is not a number (numeric feature)",
    ]
    assert all(v.shape == (0, 1) for v in checked.inputs.values())


def test_csv_cells_are_parsed_by_kind_and_spelt_as_training_spelt_them():
    """Read as text: numbers parsed; "True" is what pyarrow reads as true; a category that was
    numbers in training is spelt as a number ("3.0" -> "3"), text categories stay as they are."""
    frame = pd.DataFrame(
        {
            "mass": ["3750", "4.5e3", None, "", "abc", "1e39", "inf", "-2"],
            "island": ["Biscoe", "3.0", None, "Dream", "Dream", "Dream", "Dream", "Torgersen"],
            "smoker": ["True", "false", "1", "TRUE", None, "0", "yes", "FALSE"],
            "code": ["3.0", "12", "2.50", "x", None, "03", "3", "12.0"],
        },
        dtype="str",
    )
    checked = check_rows(frame, FEATURES, text_cells=True)
    assert checked.valid.tolist() == [True, True, True, True, False, False, False, True]
    assert checked.reasons == [
        "mass: 'abc' is not a number (numeric feature)",
        "mass: 1e+39 is not a finite float32 number (numeric feature)",
        "mass: inf is not a finite float32 number (numeric feature); "
        "smoker: 'yes' is not true or false (boolean feature)",
    ]
    np.testing.assert_array_equal(
        checked.inputs["mass"].ravel(), np.array([3750, 4500, np.nan, np.nan, -2], dtype="float32")
    )
    assert column(checked, "island") == ["Biscoe", "3.0", "", "Dream", "Torgersen"]
    assert column(checked, "smoker") == ["true", "false", "true", "true", "false"]
    assert column(checked, "code") == ["3", "12", "2.5", "x", "12"]


def test_a_row_with_many_problems_names_five():
    features = [FeatureSpec(f"x{i}", NUMERIC, f"x{i}") for i in range(7)]
    checked = check_rows(
        pd.DataFrame({f"x{i}": ["a", "1"] for i in range(7)}, dtype="str"), features, text_cells=True
    )
    assert checked.valid.tolist() == [False, True]
    assert checked.reasons == [
        "; ".join(f"x{i}: 'a' is not a number (numeric feature)" for i in range(5)) + " (and 2 more)"
    ]


def test_the_inputs_are_what_every_other_path_builds_from_the_same_values():
    frame = pd.DataFrame(
        {
            "mass": [1.5, None, 7.0],
            "island": ["Dream", None, "x"],
            "smoker": [True, False, True],
            "code": [3, 12, 3],
        }
    )
    checked = check_rows(frame, FEATURES)
    theirs = model_inputs(frame, FEATURES)
    for name, values in theirs.items():
        np.testing.assert_array_equal(checked.inputs[name], values)
        assert checked.inputs[name].dtype == values.dtype


def test_a_mixed_object_column_is_checked_value_by_value():
    """True, 1 and 1.0 hash alike: a column of mixed objects is never grouped by value."""
    frame = pd.DataFrame(
        {
            "mass": [1, 2, 3],
            "island": pd.Series([True, 1, 1.5], dtype=object),
            "smoker": [True, True, False],
            "code": pd.Series([1, True, "1"], dtype=object),
        }
    )
    checked = check_rows(frame, FEATURES)
    assert column(checked, "island") == ["true", "1", "1.5"]
    assert column(checked, "code") == ["1", "true", "1"]


def test_numeric_spelling_is_told_from_the_known_categories():
    assert numeric_spelling(FEATURES[3])
    assert not numeric_spelling(FEATURES[1])
    assert not numeric_spelling(FeatureSpec("c", CATEGORICAL, "c", categories=["3.0", "4"]))
    assert not numeric_spelling(FeatureSpec("c", CATEGORICAL, "c", categories=[""]))
