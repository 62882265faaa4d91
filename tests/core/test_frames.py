"""Raw rows as pandas frames, checked by kind as the service checks JSON records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.core.contract import BOOLEAN, CATEGORICAL, MISSING, NUMERIC, ONE_HOT, Contract, FeatureSpec
from pipeline.core.frames import FrameError, answer_frame, feature_columns
from pipeline.core.rows import model_inputs

CONTRACT = Contract(
    features=[
        FeatureSpec("mass", NUMERIC, "mass", median=1.0, mean=1.0, variance=1.0),
        FeatureSpec("sex", BOOLEAN, "sex", categories=["true", "false", MISSING], encoding=ONE_HOT),
        FeatureSpec("island", CATEGORICAL, "island", categories=["a", "b"], encoding=ONE_HOT),
    ],
    target="species",
    task="multiclass",
    class_labels=["x", "y", "z"],
    ignored={"species": "the target"},
)


def test_natural_frames_pass_and_become_the_models_inputs():
    frame = pd.DataFrame(
        {
            "island": ["a", None, 3],
            "species": ["x", "y", None],
            "sex": [True, None, "false"],
            "mass": [1, None, 2.5],
        }
    )
    inputs = model_inputs(feature_columns(frame, CONTRACT), CONTRACT.features)
    np.testing.assert_array_equal(inputs["mass"].ravel(), np.asarray([1, np.nan, 2.5], dtype="float32"))
    assert inputs["sex"].ravel().tolist() == ["true", "", "false"]
    assert inputs["island"].ravel().tolist() == ["a", "", "3"]
    typed = pd.DataFrame(
        {
            "mass": np.asarray([1, 2], dtype="int64"),
            "sex": [True, False],
            "island": pd.Series([1, 2], dtype="int64"),
        }
    )
    assert feature_columns(typed, CONTRACT)["mass"].dtype == "float64"


@pytest.mark.parametrize(
    ("column", "values", "problem"),
    [
        ("mass", ["1.5", 2.0], "column 'mass', row 0: '1.5' is not a number (numeric feature)"),
        ("mass", [1.0, np.inf], "column 'mass', row 1: inf is not a finite float32 number"),
        ("mass", [True, False], "column 'mass', row 0: True is not a number"),
        ("sex", ["yes", True], "column 'sex', row 0: 'yes' is not true or false (boolean feature)"),
        ("sex", [1, 0], "column 'sex', row 0: 1 is not true or false"),
        ("island", [{"a": 1}, "b"], "column 'island', row 0: {'a': 1} is not a category"),
    ],
)
def test_a_wrong_value_is_refused_naming_column_row_and_value(column, values, problem):
    frame = pd.DataFrame({"mass": [1.0, 2.0], "sex": [True, False], "island": ["a", "b"]})
    frame[column] = pd.Series(values)  # dtypes as pandas infers them: object, float64, bool, int64
    with pytest.raises(FrameError) as refused:
        feature_columns(frame, CONTRACT)
    assert problem in str(refused.value)


def test_missing_and_unknown_columns_are_refused_by_name():
    frame = pd.DataFrame({"mass": [1.0], "island": ["a"], "colour": ["red"]})
    with pytest.raises(FrameError) as refused:
        feature_columns(frame, CONTRACT)
    problems = refused.value.problems
    assert any("'colour' is unknown" in p for p in problems)
    assert any("'sex' is missing" in p for p in problems)
    assert feature_columns(frame.assign(sex=[None]), CONTRACT, unknown_allowed=True)


def test_answers_carry_label_and_each_class_probability():
    raw = np.asarray([[0.0, 2.0, 0.0], [5.0, 0.0, 0.0]])
    answers = answer_frame(raw, CONTRACT, pd.Index([10, 11]))
    assert list(answers.columns) == ["label", "p_x", "p_y", "p_z"]
    assert answers["label"].tolist() == ["y", "x"] and answers.index.tolist() == [10, 11]
    np.testing.assert_allclose(answers[["p_x", "p_y", "p_z"]].sum(axis=1), 1.0)
    with pytest.raises(FrameError, match="row 1: the model's output overflowed"):
        answer_frame(np.asarray([[0.0, 1.0, 2.0], [np.inf, 0, 0]]), CONTRACT)


def test_a_column_sent_twice_is_refused_once_by_name():
    frame = pd.DataFrame([[1.0, True, "a", 2.0]], columns=["mass", "sex", "island", "mass"])
    with pytest.raises(FrameError, match="column 'mass' appears more than once; send it once") as caught:
        feature_columns(frame, CONTRACT)
    assert str(caught.value).count("mass") == 1


def test_many_wrong_values_are_cut_at_the_cap():
    from pipeline.core.frames import MAX_PROBLEMS

    rows = MAX_PROBLEMS + 5
    frame = pd.DataFrame({"mass": ["heavy"] * rows, "sex": ["maybe"] * rows, "island": ["a"] * rows})
    with pytest.raises(FrameError) as caught:
        feature_columns(frame, CONTRACT)
    # the first problem, and a count that stops at the cap: sex is not even checked
    assert str(caught.value) == (
        "column 'mass', row 0: 'heavy' is not a number (numeric feature) "
        f"(and {MAX_PROBLEMS - 1} more problem(s))"
    )
