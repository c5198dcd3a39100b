"""The bootstrap behind every interval: cluster resampling of ratios, percentile intervals, and
the simultaneous (max-t) band whose intervals hold jointly however many columns there are."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import ndtr, ndtri

from adapt import _bootstrap
from adapt._bootstrap import (
    bootstrap_ratios,
    cluster_sums,
    percentile_interval,
    simultaneous_interval,
)

LEVEL = 0.9


def _scale(replicates):
    """The robust spread the band is built on: interquartile range / 1.349."""
    q25, q75 = np.nanpercentile(replicates, [25, 75], axis=0)
    return (q75 - q25) / 1.349


def _jointly_inside(draws, low, high):
    """Share of rows of `draws` inside every interval at once."""
    return float(((draws >= low) & (draws <= high)).all(axis=1).mean())


def _order_statistic(column, q):
    """The inverted-CDF quantile: the smallest value whose empirical CDF reaches q."""
    ordered = np.sort(column)
    return ordered[max(int(np.ceil(q * len(ordered))) - 1, 0)]


# --- cluster_sums and bootstrap_ratios -------------------------------------------------------


def test_cluster_sums_add_rows_within_clusters():
    """Each cluster's row is the sum of its rows, column by column; empty clusters sum to 0."""
    values = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]])
    sums = cluster_sums(values, np.array([0, 2, 0]), 3)
    np.testing.assert_array_equal(sums, [[5.0, 50.0], [0.0, 0.0], [2.0, 20.0]])
    # a 1-d input is one column
    np.testing.assert_array_equal(
        cluster_sums(np.array([1.0, 2.0]), np.array([1, 1]), 2), [[0], [3]]
    )


def test_bootstrap_ratios_resample_whole_clusters(monkeypatch):
    """Every replicate draws exactly `n_groups` clusters: with one indicator column per cluster
    and a denominator of 1 per cluster, a replicate's row is the clusters' drawn shares, multiples
    of 1/n summing to 1 — also when the replicates are computed in many small chunks."""
    n = 10
    monkeypatch.setattr(_bootstrap, "_CELLS_PER_CHUNK", 3 * n)  # chunks of 3 replicates
    codes = np.arange(n)
    reps = bootstrap_ratios(np.eye(n), np.ones(n), codes, n, n_bootstrap=10, seed=1)
    assert reps.shape == (10, n)
    np.testing.assert_allclose(reps.sum(axis=1), 1.0)
    np.testing.assert_allclose(reps * n, np.round(reps * n), atol=1e-12)
    assert len({tuple(row) for row in reps}) > 1  # the replicates differ


def test_bootstrap_ratios_spread_is_that_of_the_cluster_mean():
    """A ratio whose clusters hold one row each with denominator 1 is a mean: its replicates are
    centred on it with the spread sd / sqrt(n). With 2000 replicates the sd is estimated to about
    1 / sqrt(2 * 2000) = 1.6 % (relative), so 6 % is a safe tolerance."""
    rng = np.random.default_rng(0)
    n = 200
    values = rng.normal(5.0, 2.0, n)
    reps = bootstrap_ratios(values, np.ones(n), np.arange(n), n, n_bootstrap=2000, seed=3)[:, 0]
    assert reps.mean() == pytest.approx(values.mean(), abs=4 * values.std() / np.sqrt(n * 2000))
    assert reps.std() == pytest.approx(values.std() / np.sqrt(n), rel=0.06)
    # the same seed gives the same replicates
    again = bootstrap_ratios(values, np.ones(n), np.arange(n), n, n_bootstrap=2000, seed=3)
    np.testing.assert_array_equal(again[:, 0], reps)


def test_bootstrap_ratios_of_a_constant_ratio_and_of_a_zero_denominator():
    """A ratio that is the same in every cluster is that ratio in every replicate; over a
    denominator that is 0 everywhere, 0 gives NaN and a positive sum +inf, never an error."""
    den = np.array([1.0, 2.0, 3.0, 4.0])
    num = np.column_stack([0.25 * den, np.zeros(4), np.ones(4)])
    zero = np.zeros(4)
    reps = bootstrap_ratios(num, np.column_stack([den, zero, zero]), np.arange(4), 4, 50, 0)
    np.testing.assert_allclose(reps[:, 0], 0.25)
    assert np.isnan(reps[:, 1]).all() and (reps[:, 2] == np.inf).all()


# --- percentile_interval ---------------------------------------------------------------------


def test_percentile_interval_ignores_nan_and_is_nan_without_replicates():
    """The interval of 0..100 at alpha 0.1 is [5, 95], NaN replicates ignored; a column of only
    NaN and a matrix without replicates give NaN."""
    column = np.arange(101.0)
    replicates = np.column_stack([np.r_[column, np.full(20, np.nan)], np.full(121, np.nan)])
    low, high = percentile_interval(replicates, 0.1)
    np.testing.assert_allclose([low[0], high[0]], [5.0, 95.0])
    assert np.isnan([low[1], high[1]]).all()
    low, high = percentile_interval(np.empty((0, 3)), 0.1)
    assert low.shape == high.shape == (3,) and np.isnan(low).all() and np.isnan(high).all()


def test_percentile_interval_of_partly_infinite_replicates_is_unbounded():
    """10 % of the replicates at +inf (men never given it in those draws): the 95th
    percentile is +inf, not NaN."""
    column = np.r_[np.linspace(0, 1, 90), np.full(10, np.inf)][:, None]
    _, high = percentile_interval(column, 0.1)
    assert high[0] == np.inf


# --- simultaneous_interval: coverage ---------------------------------------------------------


def test_the_band_holds_jointly_at_its_level_where_marginal_intervals_do_not():
    """15 independent normal columns, 500 replicates, 200 repetitions of 100 fresh draws each.

    The share of fresh draws inside all 15 intervals at once is near 0.9. Its spread: per
    repetition the band's own coverage varies by about sqrt(0.9 * 0.1 / 500) = 0.013 (an
    empirical quantile of 500) and 100 draws add sqrt(0.09 / 100) = 0.03, so the mean over 200
    repetitions has sd about 0.033 / sqrt(200) = 0.0023; 0.015 is over 6 sd. Per-column 90 %
    percentile intervals cover all 15 at once only 0.9 ** 15 = 0.21 of the time (same spread)."""
    rng = np.random.default_rng(0)
    k, n = 15, 500
    band, marginal = [], []
    for _ in range(200):
        replicates = rng.standard_normal((n, k))
        fresh = rng.standard_normal((100, k))
        band.append(_jointly_inside(fresh, *simultaneous_interval(replicates, np.zeros(k), LEVEL)))
        marginal.append(_jointly_inside(fresh, *percentile_interval(replicates, 1 - LEVEL)))
    assert np.mean(band) == pytest.approx(LEVEL, abs=0.015)
    assert np.mean(marginal) == pytest.approx(LEVEL**k, abs=0.03)
    assert np.mean(band) - np.mean(marginal) > 0.6


def test_for_nearly_identical_columns_the_band_is_the_marginal_interval():
    """Columns that move together need no widening: 15 copies of one normal column (plus 1 %
    noise) get the marginal 90 % interval's width (to 3 %, both estimated from the same draws),
    while 15 independent columns get a band about 2.7 / 1.645 = 1.6 times as wide."""
    rng = np.random.default_rng(1)
    k, n = 15, 2000
    common = rng.standard_normal((n, 1)) + 0.01 * rng.standard_normal((n, k))
    low, high = simultaneous_interval(common, np.zeros(k), LEVEL)
    m_low, m_high = percentile_interval(common, 1 - LEVEL)
    assert np.mean((high - low) / (m_high - m_low)) == pytest.approx(1.0, abs=0.03)
    independent = rng.standard_normal((n, k))
    i_low, i_high = simultaneous_interval(independent, np.zeros(k), LEVEL)
    assert np.mean((i_high - i_low) / (high - low)) > 1.45


def test_the_critical_value_grows_with_the_number_of_columns():
    """For k independent normal columns the band's half-width in robust-scale units is the
    quantile of the largest of k |z|: 1.64, 2.11, 2.56, 2.92 for k = 1, 3, 10, 30 (4000
    replicates estimate it to within a few per cent)."""
    rng = np.random.default_rng(2)
    critical = []
    for k in (1, 3, 10, 30):
        replicates = rng.standard_normal((4000, k))
        _, high = simultaneous_interval(replicates, np.zeros(k), LEVEL)
        critical.append(float(np.median(high / _scale(replicates))))
        assert critical[-1] == pytest.approx(ndtri(1 - (1 - LEVEL ** (1 / k)) / 2), rel=0.06)
    assert critical == sorted(critical) and critical[-1] > 1.6 * critical[0]


def test_skewed_columns_are_covered_jointly_but_symmetrically():
    """Log-normal columns: the band still holds jointly (the critical value is the quantile of
    the actual deviations), but it is symmetric about the point, so on the raw scale it reaches
    far below 0 where no replicate lies. On the log scale (as the audit judges ratios) it holds
    jointly too, and mapped back stays positive and is much narrower. Spread of the mean share:
    about 0.004 (100 repetitions, as in the normal case); tolerance 0.02."""
    rng = np.random.default_rng(3)
    k, n = 10, 500
    raw, logged = [], []
    for _ in range(100):
        replicates = rng.lognormal(0.0, 1.0, (n, k))
        fresh = rng.lognormal(0.0, 1.0, (100, k))
        low, high = simultaneous_interval(replicates, np.ones(k), LEVEL)
        raw.append(_jointly_inside(fresh, low, high))
        l_low, l_high = simultaneous_interval(np.log(replicates), np.zeros(k), LEVEL)
        logged.append(_jointly_inside(np.log(fresh), l_low, l_high))
    assert np.mean(raw) == pytest.approx(LEVEL, abs=0.02)
    assert np.mean(logged) == pytest.approx(LEVEL, abs=0.02)
    np.testing.assert_allclose(high - 1, 1 - low)  # symmetric about the point 1
    assert (low < 0).all() and replicates.min() > 0
    assert (np.exp(l_low) > 0).all() and ((np.exp(l_high) - np.exp(l_low)) < (high - low)).all()


# --- simultaneous_interval: irregular columns ------------------------------------------------


def test_a_column_with_infinite_replicates_gets_order_statistics():
    """A ratio whose men's rate is 0 in some draws has replicates at +inf: its column takes no
    part in the critical value (the other columns get the band they would get without it) and
    gets the order-statistic interval of the per-column coverage 2 Phi(c) - 1. With 2 % of its
    replicates at +inf, beyond that tail (about 1.7 % for c = 2.1), its upper end is +inf; with
    a single one it is the finite order statistic."""
    rng = np.random.default_rng(4)
    n, k = 1000, 4
    replicates = rng.standard_normal((n, k))
    without = simultaneous_interval(replicates[:, 1:], np.zeros(k - 1), LEVEL)
    critical = without[1][0] / _scale(replicates[:, 1])
    tail = 1 - ndtr(critical)
    assert 0.001 < tail < 0.02
    for n_infinite in (20, 1):
        column = replicates[:, 0].copy()
        column[:n_infinite] = np.inf
        low, high = simultaneous_interval(
            np.column_stack([column, replicates[:, 1:]]), np.zeros(k), LEVEL
        )
        np.testing.assert_allclose(low[1:], without[0])
        np.testing.assert_allclose(high[1:], without[1])
        assert low[0] == _order_statistic(column, tail) and np.isfinite(low[0])
        assert high[0] == _order_statistic(column, 1 - tail)
        assert bool(high[0] == np.inf) is (n_infinite == 20)


def test_a_column_at_minus_infinity_gets_minus_infinity():
    """The log of a zero ratio (women never given it): point and every replicate -inf give the
    interval [-inf, -inf]; the regular columns beside it keep their finite band."""
    rng = np.random.default_rng(5)
    replicates = rng.standard_normal((500, 3))
    replicates[:, 1] = -np.inf
    point = np.array([0.0, -np.inf, 0.0])
    low, high = simultaneous_interval(replicates, point, LEVEL)
    assert low[1] == high[1] == -np.inf
    assert np.isfinite(low[[0, 2]]).all() and (low[[0, 2]] < 0).all() and (high[[0, 2]] > 0).all()


def test_a_mostly_minus_infinite_column_gets_order_statistics():
    """A point of -inf with a quarter of the replicates finite: the order-statistic interval
    reaches -inf below and a finite replicate above (interpolating between -inf and a finite
    replicate would give NaN)."""
    rng = np.random.default_rng(6)
    replicates = rng.standard_normal((400, 2))
    replicates[:300, 1] = -np.inf
    low, high = simultaneous_interval(replicates, np.array([0.0, -np.inf]), LEVEL)
    assert low[1] == -np.inf
    tail = 1 - ndtr(high[0] / _scale(replicates[:, 0]))
    assert high[1] == _order_statistic(replicates[:, 1], 1 - tail) and np.isfinite(high[1])


def test_zero_spread_columns_fall_back_to_order_statistics_at_the_same_coverage():
    """A column whose interquartile range is 0 cannot be scaled: it gets the order-statistic
    interval of the per-column coverage 2 Phi(c) - 1 the regular columns' critical value c
    implies; a constant column gets its constant."""
    rng = np.random.default_rng(7)
    n = 400
    lumpy = np.r_[np.zeros(360), -np.arange(1.0, 21.0), np.arange(1.0, 21.0)]
    replicates = np.column_stack([rng.standard_normal((n, 3)), rng.permutation(lumpy), np.ones(n)])
    point = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    low, high = simultaneous_interval(replicates, point, LEVEL)
    critical = high[0] / _scale(replicates[:, 0])
    tail = 1 - ndtr(critical)  # (1 - coverage) / 2
    assert low[3] == _order_statistic(lumpy, tail)
    assert high[3] == _order_statistic(lumpy, 1 - tail)
    assert low[3] < 0 < high[3]
    assert low[4] == high[4] == 1.0


def test_without_a_regular_column_the_band_is_bonferroni():
    """With no column that can be scaled, each interval is the order-statistic one at the
    Bonferroni coverage 1 - (1 - level) / k: for k = 4, the 1.25 % and 98.75 % order statistics."""
    rng = np.random.default_rng(8)
    lumpy = np.r_[np.zeros(360), -np.arange(1.0, 21.0), np.arange(1.0, 21.0)]
    replicates = np.column_stack([rng.permutation(lumpy) for _ in range(4)])
    with np.errstate(all="ignore"):
        low, high = simultaneous_interval(replicates, np.zeros(4), LEVEL)
    tail = (1 - LEVEL) / 4 / 2
    np.testing.assert_array_equal(low, _order_statistic(lumpy, tail))
    np.testing.assert_array_equal(high, _order_statistic(lumpy, 1 - tail))


def test_nan_replicates_take_no_part_and_a_column_without_any_is_nan():
    """A column of only NaN replicates gets a NaN interval and leaves the others as they were
    without it; scattered NaN in a regular column are ignored; no replicates at all give NaN."""
    rng = np.random.default_rng(9)
    replicates = rng.standard_normal((1000, 3))
    alone = simultaneous_interval(replicates, np.zeros(3), LEVEL)
    with_nan = np.column_stack([replicates, np.full(1000, np.nan)])
    low, high = simultaneous_interval(with_nan, np.zeros(4), LEVEL)
    assert np.isnan(low[3]) and np.isnan(high[3])
    np.testing.assert_allclose(low[:3], alone[0])
    np.testing.assert_allclose(high[:3], alone[1])
    scattered = replicates.copy()
    scattered[rng.choice(1000, 50, replace=False), 0] = np.nan
    low, high = simultaneous_interval(scattered, np.zeros(3), LEVEL)
    np.testing.assert_allclose(high, alone[1], rtol=0.05)
    for empty in (np.empty((0, 3)), np.empty((0, 0))):
        low, high = simultaneous_interval(empty, np.zeros(empty.shape[1]), LEVEL)
        assert low.shape == (empty.shape[1],) and np.isnan(low).all() and np.isnan(high).all()


def test_replicate_rows_of_only_nan_take_no_part():
    """20 % of the replicate rows NaN in every column (draws without any shared stratum): the
    band is that of the other rows, whether the NaN rows would count as misses (a wider band) or
    as hits (a narrower one). Four nearly identical columns, so a fallback to Bonferroni's cut
    would show too."""
    rng = np.random.default_rng(10)
    replicates = rng.standard_normal((1000, 1)) + 0.01 * rng.standard_normal((1000, 4))
    dropped = simultaneous_interval(replicates[200:], np.zeros(4), LEVEL)
    replicates[:200] = np.nan
    low, high = simultaneous_interval(replicates, np.zeros(4), LEVEL)
    np.testing.assert_allclose(high, dropped[1], rtol=0.02)


# --- simultaneous_interval: properties -------------------------------------------------------

_VALUES = st.integers(-200, 200).map(lambda v: v / 8)  # finite, no overflow of scaled deviations


@st.composite
def _replicates_and_point(draw, max_columns=5):
    n = draw(st.integers(2, 40))
    k = draw(st.integers(1, max_columns))
    replicates = draw(arrays(np.float64, (n, k), elements=_VALUES))
    point = draw(arrays(np.float64, (k,), elements=_VALUES))
    return replicates, point


def _regular(replicates, point):
    return np.isfinite(point) & (_scale(replicates) > 0)


@settings(max_examples=100, deadline=None)
@given(_replicates_and_point())
def test_property_bounds_are_ordered_and_regular_columns_contain_the_point(case):
    """For any finite replicates: low <= high; a regular column's interval contains its point,
    and the rows inside every regular interval at once are at least `level` of all rows (up to
    the quantile's interpolation, one row)."""
    replicates, point = case
    with np.errstate(all="ignore"):
        low, high = simultaneous_interval(replicates, point, LEVEL)
    assert np.isfinite(low).all() and np.isfinite(high).all() and (low <= high).all()
    regular = _regular(replicates, point)
    assert (low[regular] <= point[regular]).all() and (point[regular] <= high[regular]).all()
    if regular.any():
        slack = 1e-9 * (1 + np.abs(replicates[:, regular]))
        inside = (replicates[:, regular] >= low[regular] - slack) & (
            replicates[:, regular] <= high[regular] + slack
        )
        n = len(replicates)
        assert inside.all(axis=1).mean() >= LEVEL - 1 / n - 1e-12


@settings(max_examples=100, deadline=None)
@given(_replicates_and_point(max_columns=6), st.data())
def test_property_adding_columns_never_narrows_the_band(case, data):
    """Nested families: the band over the first k columns lies inside the band over all of
    them, on every column regular in both (the largest deviation over more columns is never
    smaller)."""
    replicates, point = case
    k = data.draw(st.integers(1, replicates.shape[1]))
    regular = _regular(replicates, point)
    if not regular[:k].any():  # without a regular column the critical value is Bonferroni's
        return
    with np.errstate(all="ignore"):
        low_k, high_k = simultaneous_interval(replicates[:, :k], point[:k], LEVEL)
        low, high = simultaneous_interval(replicates, point, LEVEL)
    both = regular[:k]
    assert (low[:k][both] <= low_k[both] + 1e-9).all()
    assert (high[:k][both] >= high_k[both] - 1e-9).all()
