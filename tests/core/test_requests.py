import numpy as np
import pandas as pd
import pytest

from pipeline.core.contract import BOOLEAN, CATEGORICAL, NUMERIC, Contract, FeatureSpec
from pipeline.core.requests import (
    MAX_PROBLEMS,
    RecordChecker,
    RequestError,
    check_outputs,
    check_threshold,
    records_to_inputs,
)
from pipeline.core.rows import FLOAT32_MAX, model_inputs

TAKES = "unknown feature; the model takes 'bill_length_mm', 'island', 'smoker', 'body mass/g' (see /metadata)"


def penguins(**kw) -> Contract:
    """Two numbers (one with a name Keras cannot take), a category and a boolean."""
    features = [
        FeatureSpec("bill_length_mm", NUMERIC, "bill_length_mm", median=44.0, mean=44.0, variance=30.0),
        FeatureSpec(
            "island",
            CATEGORICAL,
            "island",
            categories=["Biscoe", "Dream", "", "Torgersen"],
            encoding="one_hot",
        ),
        FeatureSpec("smoker", BOOLEAN, "smoker", categories=["false", "true"], encoding="one_hot"),
        FeatureSpec(
            "body mass/g", NUMERIC, "body_mass_g", median=4000.0, mean=4200.0, variance=6e5, indicator=True
        ),
    ]
    return Contract(
        features=features,
        target="species",
        task="multiclass",
        class_labels=["Adelie", "Chinstrap", "Gentoo"],
        ignored={"species": "the target", "id": "unique per row (an identifier)"},
        **kw,
    )


GOOD = {"bill_length_mm": 39.1, "island": "Biscoe", "smoker": False, "body mass/g": 3750}


def problems(records, contract=None, max_records=10):
    with pytest.raises(RequestError) as exc:
        records_to_inputs(records, contract or penguins(), max_records)
    return [(p.index, p.field, p.problem) for p in exc.value.problems], str(exc.value)


def test_natural_records_become_the_model_inputs_by_kind():
    records = [
        GOOD,
        # nulls for every kind; a row of the training table: the target and a dropped id ride along
        {
            "bill_length_mm": None,
            "island": None,
            "smoker": None,
            "body mass/g": None,
            "species": "Adelie",
            "id": 7,
        },
        # an unseen category, the strings "true" / "" for a boolean and a number, numbers as categories
        {"bill_length_mm": "", "island": "Atlantis", "smoker": "true", "body mass/g": 4e3},
        {"bill_length_mm": -2, "island": 3.0, "smoker": "", "body mass/g": 0},
        {"bill_length_mm": 1e10, "island": True, "smoker": True, "body mass/g": 2.5},
    ]
    inputs = records_to_inputs(records, penguins(), 10)
    assert list(inputs) == ["bill_length_mm", "island", "smoker", "body_mass_g"]
    assert all(column.shape == (5, 1) for column in inputs.values())
    assert inputs["bill_length_mm"].dtype == np.float32 and inputs["island"].dtype == object
    np.testing.assert_array_equal(
        inputs["bill_length_mm"].ravel(), np.array([39.1, np.nan, np.nan, -2, 1e10], dtype="float32")
    )
    np.testing.assert_array_equal(
        inputs["body_mass_g"].ravel(), np.array([3750, np.nan, 4000, 0, 2.5], dtype="float32")
    )
    assert inputs["island"].ravel().tolist() == ["Biscoe", "", "Atlantis", "3", "true"]
    assert inputs["smoker"].ravel().tolist() == ["false", "", "true", "", "true"]


def test_the_inputs_equal_what_every_other_path_builds():
    """The service builds its arrays directly, for speed: they must be `model_inputs`'s."""
    records = [
        GOOD,
        {"bill_length_mm": None, "island": None, "smoker": None, "body mass/g": 12345678},
        {"bill_length_mm": 0.1, "island": 7, "smoker": True, "body mass/g": 3.4e38},
    ]
    ours = records_to_inputs(records, penguins(), 10)
    theirs = model_inputs(pd.DataFrame(records), penguins().features)
    assert list(ours) == list(theirs)
    for name in ours:
        assert ours[name].dtype == theirs[name].dtype and ours[name].shape == theirs[name].shape
        np.testing.assert_array_equal(ours[name], theirs[name])


def test_each_kind_refuses_what_it_cannot_take_naming_record_field_and_kind():
    found, message = problems(
        [
            GOOD,
            {
                **GOOD,
                "bill_length_mm": "abc",
                "island": {"name": "Biscoe"},
                "smoker": "yes",
                "body mass/g": True,
            },
            {**GOOD, "bill_length_mm": 1e39, "island": ["Biscoe"], "smoker": 1, "body mass/g": float("nan")},
            {**GOOD, "bill_length_mm": float("inf"), "smoker": "True", "body mass/g": 10**400},
        ]
    )
    assert found == [
        (1, "bill_length_mm", "'abc' is not a number (numeric feature)"),
        (
            1,
            "island",
            "{'name': 'Biscoe'} is not a category: send text, a number or true/false (categorical feature)",
        ),
        (1, "smoker", "'yes' is not true or false (boolean feature)"),
        (1, "body mass/g", "True is not a number (numeric feature)"),
        (2, "bill_length_mm", "1e+39 is not a finite float32 number (numeric feature)"),
        (
            2,
            "island",
            "['Biscoe'] is not a category: send text, a number or true/false (categorical feature)",
        ),
        (2, "smoker", "1 is not true or false (boolean feature)"),
        (2, "body mass/g", "nan is not a finite float32 number (numeric feature)"),
        (3, "bill_length_mm", "inf is not a finite float32 number (numeric feature)"),
        (3, "smoker", "'True' is not true or false (boolean feature)"),
        (3, "body mass/g", f"1{'0' * 56}... is not a finite float32 number (numeric feature)"),
    ]
    assert message == "records[1].bill_length_mm: 'abc' is not a number (numeric feature) (and 10 more)"


def test_a_missing_column_and_an_unknown_one_are_named():
    record = {k: v for k, v in GOOD.items() if k != "island"}
    found, message = problems([{**record, "colour": "red", "Island": "Dream"}])
    assert found == [
        (0, "island", "missing; send null for a missing value"),
        (0, "Island", TAKES),
        (0, "colour", TAKES),
    ]
    assert message == "records[0].island: missing; send null for a missing value (and 2 more)"


def test_the_target_and_dropped_columns_are_accepted_and_ignored():
    inputs = records_to_inputs([{**GOOD, "species": "Gentoo", "id": 1}], penguins(), 10)
    assert set(inputs) == {"bill_length_mm", "island", "smoker", "body_mass_g"}


def test_many_features_are_listed_in_part():
    features = [FeatureSpec(f"x{i}", NUMERIC, f"x{i}", median=0.0) for i in range(12)]
    contract = Contract(features=features, target="y", task="regression", class_labels=[])
    record = {f"x{i}": 0 for i in range(12)}
    found, _ = problems([{**record, "z": 1}], contract)
    assert found == [
        (
            0,
            "z",
            "unknown feature; the model takes 'x0', 'x1', 'x2', 'x3', 'x4', 'x5', "
            "'x6', 'x7' and 4 more (see /metadata)",
        )
    ]


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([], "request.records: must be a non-empty list of records"),
        ({"bill_length_mm": 1}, "request.records: must be a non-empty list of records"),
        ([GOOD] * 11, "request.records: 11 records exceed the maximum of 10 per request; split the batch"),
        ([5], "records[0]: must be an object of feature name -> value"),
        ([{**GOOD, "island": "x" * 100}, 5], "records[1]: must be an object of feature name -> value"),
    ],
)
def test_refused_payloads(records, expected):
    assert problems(records)[1] == expected


def test_problems_are_capped_and_long_values_cut():
    found, message = problems([{**GOOD, "bill_length_mm": "y" * 100}] * 30, max_records=100)
    assert len(found) == MAX_PROBLEMS
    assert found[0] == (0, "bill_length_mm", f"'{'y' * 56}... is not a number (numeric feature)")
    assert message.endswith(f"(and {MAX_PROBLEMS - 1} more)")


def test_a_checker_is_reused_across_requests():
    check = RecordChecker(penguins(), max_records=2)
    assert check([GOOD])["island"].tolist() == [["Biscoe"]]
    assert check([GOOD, GOOD])["bill_length_mm"].shape == (2, 1)
    with pytest.raises(RequestError, match="3 records exceed the maximum of 2"):
        check([GOOD] * 3)


@pytest.mark.parametrize("ok", [None, 0, 1, 0.25])
def test_threshold_in_range_is_accepted(ok):
    check_threshold(ok)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5", True, 10**400])
def test_threshold_out_of_range_is_refused(bad):
    with pytest.raises(RequestError, match=r"request.threshold: .* is not a number in \[0, 1\]"):
        check_threshold(bad)


@pytest.mark.parametrize(
    ("task", "why"), [("multiclass", "the most probable class wins"), ("regression", "it answers a value")]
)
def test_a_threshold_is_refused_where_there_is_none(task, why):
    with pytest.raises(RequestError) as refused:
        check_threshold(0.5, task)
    assert str(refused.value) == (
        f"request.threshold: a {task} model has no decision threshold ({why}); omit it"
    )


def test_the_whole_float32_range_is_accepted_and_overflowing_outputs_are_refused():
    top = {**GOOD, "bill_length_mm": 3.4028234e38}
    assert records_to_inputs([top], penguins(), 10)["bill_length_mm"][0, 0] == np.float32(3.4028234e38)
    found, _ = problems([{**GOOD, "bill_length_mm": 3.5e38}])
    assert found == [(0, "bill_length_mm", "3.5e+38 is not a finite float32 number (numeric feature)")]
    assert FLOAT32_MAX == pytest.approx(3.4028235e38)
    check_outputs(np.array([[1.0], [2.0]]))
    with pytest.raises(RequestError) as refused:
        check_outputs(np.array([[1.0, 0.0], [np.inf, 0.0], [np.nan, 1.0]]))
    assert [p.index for p in refused.value.problems] == [1, 2]
