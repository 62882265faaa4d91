import numpy as np
import pandas as pd
import pytest

from pipeline.core.batch import check_columns, check_rows
from pipeline.core.errors import DataError


def test_bad_rows_are_set_aside_with_their_reason_and_the_rest_kept_in_order():
    frame = pd.DataFrame({"b": [1.0, "x", 3.0, None, 5.0], "a": [10, 20, np.inf, 40, 1e39], "extra": 0})
    x, valid, reasons = check_rows(frame, ["a", "b"])
    assert valid.tolist() == [True, False, False, False, False]
    np.testing.assert_array_equal(x, np.array([[10.0, 1.0]], dtype="float32"))
    assert reasons == ["not a finite float32 number: b='x'",
                       "not a finite float32 number: a=inf",
                       "not a finite float32 number: b=(empty)",
                       "not a finite float32 number: a=1e+39"]


def test_a_missing_feature_column_fails_the_file():
    with pytest.raises(DataError, match=r"feature column\(s\) \['b'\] missing"):
        check_columns(["a", "c"], ["a", "b"], "new.csv")
