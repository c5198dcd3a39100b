"""Cluster bootstrap of ratio-of-sums estimates through per-cluster resampling counts, and
the Student-t interval of a few half-samples' draws."""

from __future__ import annotations

import functools
import warnings

import numpy as np
from scipy.special import ndtr, ndtri

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
    quantiles = [alpha / 2, 1 - alpha / 2]
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a column of only NaN gives NaN
        low, high = np.nanquantile(replicates, quantiles, axis=0)
        # interpolating next to an infinite replicate gives NaN: take the order statistic there
        lost = (np.isnan(low) | np.isnan(high)) & (~np.isnan(replicates)).any(axis=0)
        if lost.any():
            low[lost], high[lost] = np.nanquantile(
                replicates[:, lost], quantiles, axis=0, method="inverted_cdf"
            )
    return low, high


def simultaneous_interval(
    replicates: np.ndarray, point: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Intervals for every column of `point` that hold *jointly* at `level` (a max-t band).

    Each column's deviations from its point are scaled by a robust spread of its replicates
    (interquartile range / 1.349, so a few outlying replicates do little harm); the critical
    value is the `level` quantile of the largest scaled deviation over the columns. The chance
    that *some* interval misses its figure is then about 1 - `level`, however many columns
    there are. A column without a finite point, spread or replicates (e.g. a log ratio of 0,
    or one whose men's rate is 0 in some replicate) gets the percentile interval of the same
    per-column coverage. NaN replicates take no part; a column without replicates gets NaN.
    """
    replicates = np.asarray(replicates, dtype=np.float64)
    point = np.asarray(point, dtype=np.float64)
    n, k = replicates.shape
    low, high = np.full(k, np.nan), np.full(k, np.nan)
    if n == 0 or k == 0:
        return low, high
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # a column of only NaN, on purpose
        q25, q75 = np.nanpercentile(replicates, [25, 75], axis=0)
        scale = (q75 - q25) / 1.349
        bounded = ~np.isinf(replicates).any(axis=0)
        regular = np.isfinite(point) & np.isfinite(scale) & (scale > 0) & bounded
        scaled = np.abs(replicates[:, regular] - point[regular]) / scale[regular]
    worst = np.nanmax(np.where(np.isnan(scaled), -np.inf, scaled), axis=1, initial=-np.inf)
    worst = worst[worst > -np.inf]  # a replicate with no regular value takes no part
    critical = float(np.quantile(worst, level, method="higher")) if worst.size else np.inf
    if not np.isfinite(critical):  # no regular column: the normal quantile of a Bonferroni cut
        critical = float(ndtri(1 - (1 - level) / (2 * k)))
    low[regular] = point[regular] - critical * scale[regular]
    high[regular] = point[regular] + critical * scale[regular]
    coverage = 2 * ndtr(critical) - 1
    rest = np.flatnonzero(~regular & (~np.isnan(replicates)).any(axis=0))
    if rest.size:  # order statistics, not interpolation: replicates may be infinite
        tail = (1 - coverage) / 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low[rest], high[rest] = np.nanquantile(
                replicates[:, rest], [tail, 1 - tail], axis=0, method="inverted_cdf"
            )
    return low, high


@functools.lru_cache(maxsize=64)
def t_quantile(q: float, df: int) -> float:
    """Student's t quantile, kept: a live answer asks for the same two each time (SciPy's ppf
    takes 0.15 ms; importing scipy.stats half a second, so only when first needed)."""
    from scipy import stats

    return float(stats.t.ppf(q, df=df))


def spread_interval(centre: float, draws, level: float) -> tuple[float, float]:
    """`centre` -/+ Student's t times the spread of `draws` (as the learners' intervals over
    their half-samples); NaN with fewer than two finite draws or no finite centre."""
    draws = np.asarray(draws, float)
    draws = draws[np.isfinite(draws)]
    if len(draws) < 2 or not np.isfinite(centre):
        return np.nan, np.nan
    half = t_quantile(0.5 + level / 2, len(draws) - 1) * float(draws.std(ddof=1))
    return centre - half, centre + half
