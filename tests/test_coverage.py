"""Interval coverage against a known truth: counting, widths and bad input."""

import numpy as np
import pandas as pd
import pytest

from adapt.evaluation import interval_coverage


def test_coverage_counts_cells_by_hand():
    truth = pd.DataFrame([[0.2, np.nan], [0.5, 0.9]])
    lower = pd.DataFrame([[0.1, np.nan], [0.6, 0.9]])
    upper = pd.DataFrame([[0.3, np.nan], [0.7, 0.9]])
    result = interval_coverage(lower, upper, truth)
    assert result.n_cells == 3
    assert result.coverage == pytest.approx(2 / 3)  # 0.5 lies outside [0.6, 0.7]
    assert result.mean_width == pytest.approx((0.2 + 0.1 + 0.0) / 3)
    assert result.zero_width == pytest.approx(1 / 3)


def test_nominal_intervals_cover_at_their_level():
    rng = np.random.default_rng(0)
    truth = rng.random((2000, 5))
    estimate = truth + rng.normal(0, 0.05, truth.shape)
    half = 1.6449 * 0.05
    result = interval_coverage(estimate - half, estimate + half, truth)
    assert result.coverage == pytest.approx(0.90, abs=0.01)


@pytest.mark.parametrize(
    "lower, upper, truth, message",
    [
        (np.zeros((2, 2)), np.ones((2, 3)), np.zeros((2, 2)), "one shape"),
        (np.full((2, 2), np.nan), np.ones((2, 2)), np.zeros((2, 2)), "no cell"),
        (np.ones((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)), "lower bounds exceed"),
    ],
)
def test_bad_input_is_named(lower, upper, truth, message):
    with pytest.raises(ValueError, match=message):
        interval_coverage(lower, upper, truth)
