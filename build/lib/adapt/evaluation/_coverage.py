"""How often intervals hold the truth, and how wide they are."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class IntervalCoverage(NamedTuple):
    """Share of cells whose interval holds the truth, mean width, share of zero width, cells."""

    coverage: float
    mean_width: float
    zero_width: float
    n_cells: int


def interval_coverage(lower, upper, truth) -> IntervalCoverage:
    """Coverage of `truth` by ``[lower, upper]`` over every cell where all three are given.

    Parameters
    ----------
    lower, upper, truth : array-like or DataFrame of the same shape
        E.g. `predict_interval`'s bounds and :func:`truth_matrix` for the same decision points;
        NaN (an intervention not offered) leaves a cell out.
    """
    lower, upper, truth = (np.asarray(v, dtype=float) for v in (lower, upper, truth))
    if not lower.shape == upper.shape == truth.shape:
        raise ValueError(
            f"lower, upper and truth must have one shape; got {lower.shape}, {upper.shape} "
            f"and {truth.shape}"
        )
    cells = ~(np.isnan(lower) | np.isnan(upper) | np.isnan(truth))
    if not cells.any():
        raise ValueError("no cell has a lower bound, an upper bound and a true value")
    if (lower[cells] > upper[cells]).any():
        raise ValueError("some lower bounds exceed their upper bounds")
    width = upper[cells] - lower[cells]
    inside = (lower[cells] <= truth[cells]) & (truth[cells] <= upper[cells])
    return IntervalCoverage(
        float(inside.mean()), float(width.mean()), float((width <= 0).mean()), int(cells.sum())
    )
