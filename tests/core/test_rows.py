"""The one float32 limit and the one finite check every path shares (pipeline/core/rows.py)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.core.rows import FLOAT32_MAX, finite_rows, fits_float32


def test_the_limit_is_float32s_largest_number():
    assert FLOAT32_MAX == float(np.finfo(np.float32).max) == pytest.approx(3.4028235e38)
    assert np.isfinite(np.float32(FLOAT32_MAX))


@pytest.mark.parametrize(
    "value, fits",
    [
        (0, True),
        (-1.5, True),
        (FLOAT32_MAX, True),
        (-FLOAT32_MAX, True),
        (3.5e38, False),
        (-3.5e38, False),
        (float("inf"), False),
        (float("-inf"), False),
        (float("nan"), False),
        (10**400, False),  # a JSON integer too large for a float: compared exactly, no overflow
    ],
)
def test_a_number_fits_when_finite_and_within_float32(value, fits):
    assert fits_float32(value) is fits


def test_an_array_is_checked_per_value():
    values = np.array([1.0, FLOAT32_MAX, 3.5e38, np.inf, -np.inf, np.nan, -2.0])
    assert fits_float32(values).tolist() == [True, True, False, False, False, False, True]


def test_finite_rows_flags_a_row_with_any_overflowed_output():
    outputs = np.array([[1.0, 0.0], [np.inf, 0.0], [np.nan, 1.0], [-3.0, 2.0]])
    assert finite_rows(outputs).tolist() == [True, False, False, True]
    assert finite_rows(np.array([1.0, np.nan])).tolist() == [True, False]  # one output per row
