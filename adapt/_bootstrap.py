"""Cluster bootstrap of ratio-of-sums estimates through per-cluster resampling counts."""

from __future__ import annotations

import warnings

import numpy as np

_CELLS_PER_CHUNK = 4_000_000  # bootstrap replicates x clusters held in memory at once


def cluster_sums(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum the rows of `values` (n, k) within clusters: a (n_groups, k) array."""
    values = np.asarray(values, dtype=np.float64).reshape(len(codes), -1)
    out = np.empty((n_groups, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=n_groups)
    return out


def bootstrap_ratios(
    numerators: np.ndarray,
    denominators: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    n_bootstrap: int,
    seed: int,
) -> np.ndarray:
    """Replicates of sum(numerator) / sum(denominator) under the cluster bootstrap.

    Each replicate draws `n_groups` clusters with replacement (multinomial counts per cluster)
    and recomputes every column's ratio of weighted sums. Returns an (n_bootstrap, k) array; a
    replicate whose denominator is 0 gives NaN.
    """
    num = cluster_sums(numerators, codes, n_groups)
    den = cluster_sums(denominators, codes, n_groups)
    rng = np.random.default_rng(seed)
    out = np.empty((n_bootstrap, num.shape[1]))
    chunk = max(1, min(n_bootstrap, _CELLS_PER_CHUNK // max(n_groups, 1)))
    for start in range(0, n_bootstrap, chunk):
        b = min(chunk, n_bootstrap - start)
        draws = rng.integers(0, n_groups, size=(b, n_groups))
        draws += np.arange(b)[:, None] * n_groups
        counts = np.bincount(draws.ravel(), minlength=b * n_groups).reshape(b, n_groups)
        counts = counts.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + b] = (counts @ num) / (counts @ den)
    return out


def percentile_interval(replicates: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval per column, ignoring NaN replicates; NaN without replicates."""
    if replicates.shape[0] == 0:
        nan = np.full(replicates.shape[1], np.nan)
        return nan, nan.copy()
    with warnings.catch_warnings():  # a column of only NaN replicates gives NaN, on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(replicates, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
    return low, high
