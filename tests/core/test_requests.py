import numpy as np
import pytest

from pipeline.core.requests import RequestError, check_threshold, records_to_matrix

FEATURES = ["b", "a"]


def problems(records, max_records=10):
    with pytest.raises(RequestError) as exc:
        records_to_matrix(records, FEATURES, max_records)
    return [(p.index, p.field, p.problem) for p in exc.value.problems], str(exc.value)


def test_records_become_a_matrix_in_feature_order():
    matrix = records_to_matrix([{"a": 1, "b": 2.5}, {"b": -1, "a": 0}], FEATURES, 10)
    assert matrix.dtype == np.float32
    assert matrix.tolist() == [[2.5, 1.0], [-1.0, 0.0]]


def test_each_problem_names_record_field_and_what_is_wrong():
    found, message = problems([{"a": 1, "b": 2}, {"a": "x", "c": 1}, {"a": float("nan"), "b": True}])
    assert found == [
        (1, "b", "missing"),
        (1, "c", "unknown feature; expected only the model's features (see /metadata)"),
        (1, "a", "'x' is not a number"),
        (2, "b", "True is not a number"),
        (2, "a", "nan is not a finite float32 number"),
    ]
    assert message == "records[1].b: missing (and 4 more)"


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ([], "must be a non-empty list"),
        ({"a": 1}, "must be a non-empty list"),
        ([{"a": 1, "b": 1}] * 11, "11 records exceed the maximum of 10"),
        ([5], "must be an object"),
        ([{"a": float("inf"), "b": 0}], "inf is not a finite"),
        ([{"a": 1e39, "b": 0}], "1e+39 is not a finite float32"),
        ([{"a": 10**400, "b": 0}], "is not a finite float32"),  # too big even for a float
    ],
)
def test_refused_payloads(records, expected):
    assert expected in problems(records)[1]


@pytest.mark.parametrize("ok", [None, 0, 1, 0.25])
def test_threshold_in_range_is_accepted(ok):
    check_threshold(ok)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), "0.5", True, 10**400])
def test_threshold_out_of_range_is_refused(bad):
    with pytest.raises(RequestError, match=r"request.threshold: .* is not a number in \[0, 1\]"):
        check_threshold(bad)


def test_the_whole_float32_range_is_accepted_and_overflowing_outputs_are_refused():
    from pipeline.core.requests import FLOAT32_MAX, check_outputs

    assert records_to_matrix([{"a": 3.4028234e38}], ["a"], 10)[0, 0] == np.float32(3.4028234e38)
    with pytest.raises(RequestError, match=r"records\[0\].a: 3.5e\+38 is not a finite float32"):
        records_to_matrix([{"a": 3.5e38}], ["a"], 10)
    assert FLOAT32_MAX == pytest.approx(3.4028235e38)
    check_outputs(np.array([[1.0], [2.0]]))
    with pytest.raises(RequestError) as refused:
        check_outputs(np.array([[1.0, 0.0], [np.inf, 0.0], [np.nan, 1.0]]))
    assert [p.index for p in refused.value.problems] == [1, 2]
