"""Women's and men's means, overall and in a similar situation, with person-clustered bootstrap
replicates; and the parity of recommended interventions built on them.

"In a similar situation" standardises each group's mean to the same mix of situations (strata of
region, current step, Swedish level, mental health, years on support and age): the mean a group
would have if its situations were mixed like the common mix. Region is part of the situation
because it decides what can be offered at all. A gap that remains is not explained by women and
men standing in different places.

The common mix weighs each stratum holding both women and men by n_w * n_m / (n_w + n_m), the
Mantel-Haenszel weight: a stratum with one woman and a hundred men weighs about as much as one
with two women and two men (0.99 against 1), so it cannot swing the figure, and the estimate
stays stable when the strata are many and thin (sparse-data consistency, unlike weighting by
everyone's count).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from adapt._bootstrap import percentile_interval

GROUPS = ("woman", "man")
SITUATION = (
    "region",
    "current_step",
    "swedish_level",
    "mental_ill_health",
    "years_on_support",
    "age",
)
YEARS_BANDS = (0, 1, 3, np.inf)  # years on support: under 1, 1 to 3, 3 or more
AGE_BANDS = (0, 30, 50, np.inf)  # under 30, 30 to 49, 50 or older
_REPLICATES_PER_CHUNK = 50  # bootstrap draws estimated at once: bounds the (draws x cells) arrays


def situation_strata(features: pd.DataFrame) -> np.ndarray:
    """A stratum code per decision point from the `SITUATION` columns."""
    missing = [c for c in SITUATION if c not in features]
    if missing:
        raise ValueError(f"the decision points lack the situation columns {missing}")
    years = pd.cut(features["years_on_support"], YEARS_BANDS, right=False, labels=False)
    age = pd.cut(features["age"], AGE_BANDS, right=False, labels=False)
    parts = [
        features["region"].astype(str),
        features["current_step"].astype(str),
        features["swedish_level"].astype(str),
        features["mental_ill_health"].astype(str),
        years.astype(str),
        age.astype(str),
    ]
    return pd.factorize(pd.Series(["|".join(p) for p in zip(*parts, strict=True)]))[0]


def stratum_mix(counts: np.ndarray) -> np.ndarray:
    """The common mix of situations from women's and men's counts per stratum (``(..., S, 2)``):
    Mantel-Haenszel weights n_w n_m / (n_w + n_m), summing to 1 over the last stratum axis; 0
    where a stratum lacks women or men."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        weight = np.where(total > 0, counts[..., 0] * counts[..., 1] / total, 0.0)
        return weight / weight.sum(axis=-1, keepdims=True)


@dataclass
class GroupMeans:
    """Means of k values for women and men: ``point`` is (2, 2, k) — (overall, similar
    situation) x (woman, man) x value — and ``replicates`` the same per bootstrap draw."""

    point: np.ndarray
    replicates: np.ndarray

    def ratio_replicates(self) -> np.ndarray:
        """Women-to-men ratios per bootstrap draw, (draws, 2, k)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.replicates[:, :, 0] / self.replicates[:, :, 1]

    def gap_replicates(self) -> np.ndarray:
        """Women-minus-men differences per bootstrap draw, (draws, 2, k)."""
        return self.replicates[:, :, 0] - self.replicates[:, :, 1]

    def ratio(self, level: float) -> tuple[np.ndarray, ...]:
        """Women-to-men ratios (2, k) with the bounds of their percentile intervals."""
        return self._compare(np.divide, level)

    def gap(self, level: float) -> tuple[np.ndarray, ...]:
        """Women-minus-men differences (2, k) with the bounds of their percentile intervals."""
        return self._compare(np.subtract, level)

    def interval(self, level: float) -> tuple[np.ndarray, np.ndarray]:
        """Bounds of every mean, each (2, 2, k)."""
        flat = self.replicates.reshape(len(self.replicates), -1)
        low, high = percentile_interval(flat, 1 - level)
        return low.reshape(self.point.shape), high.reshape(self.point.shape)

    def _compare(self, op, level: float):
        with np.errstate(invalid="ignore", divide="ignore"):
            point = op(self.point[:, 0], self.point[:, 1])
            draws = op(self.replicates[:, :, 0], self.replicates[:, :, 1])
        low, high = percentile_interval(draws.reshape(len(draws), -1), 1 - level)
        return point, low.reshape(point.shape), high.reshape(point.shape)


def group_means(
    values,
    gender,
    strata,
    person,
    *,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> GroupMeans:
    """Women's and men's means of each column of `values` (n x k, dense or sparse), overall and
    standardised to the common mix of `strata` (`stratum_mix`).

    Rows of another gender (``unknown``) are left out. Bootstrap replicates resample persons
    (all of a person's rows together) with multinomial counts.
    """
    gender = np.asarray(gender, dtype=object)
    keep = np.isin(gender, GROUPS)
    codes = pd.factorize(np.asarray(person)[keep])[0]
    n_persons = int(codes.max()) + 1 if len(codes) else 0
    if n_persons == 0:
        raise ValueError("no decision point of a woman or a man to compare")
    matrix = sparse.coo_matrix(sparse.csr_matrix(values)[np.flatnonzero(keep)])
    group = (gender[keep] == "man").astype(int)
    stratum = np.asarray(strata)[keep]
    n_strata, k = int(stratum.max()) + 1, matrix.shape[1]
    place = stratum * 2 + group
    # Per person: sums per (stratum, group, column) and counts per (stratum, group), sparse.
    sums = sparse.csr_matrix(
        (matrix.data, (codes[matrix.row], place[matrix.row] * k + matrix.col)),
        shape=(n_persons, n_strata * 2 * k),
    )
    counts = sparse.csr_matrix(
        (np.ones(len(codes)), (codes, place)), shape=(n_persons, n_strata * 2)
    )

    def estimates(weights: np.ndarray) -> np.ndarray:
        cells = (sums.T @ weights.T).T.reshape(-1, n_strata, 2, k)
        places = (counts.T @ weights.T).T.reshape(-1, n_strata, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            overall = cells.sum(axis=1) / places.sum(axis=1)[..., None]
            within = cells / places[..., None]
            similar = np.einsum("rs,rsgk->rgk", stratum_mix(places), np.nan_to_num(within))
        return np.stack([overall, similar], axis=1)

    point = estimates(np.ones((1, n_persons)))[0]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_persons, np.full(n_persons, 1 / n_persons), size=n_bootstrap)
    replicates = np.concatenate(
        [
            estimates(draws[start : start + _REPLICATES_PER_CHUNK].astype(float))
            for start in range(0, n_bootstrap, _REPLICATES_PER_CHUNK)
        ]
        or [np.empty((0, *point.shape))]
    )
    return GroupMeans(point, replicates)


def rate_means(
    recommended,
    gender,
    strata,
    person,
    interventions: list[str],
    *,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> GroupMeans:
    """`group_means` of being recommended each of `interventions` (one column each)."""
    chosen = _codes(recommended, interventions)
    one_hot = sparse.csr_matrix(
        (np.ones(len(chosen)), (np.arange(len(chosen)), chosen)),
        shape=(len(chosen), len(interventions)),
    )
    return group_means(one_hot, gender, strata, person, n_bootstrap=n_bootstrap, seed=seed)


def rate_parity(
    recommended,
    gender,
    strata,
    person,
    interventions: list[str],
    *,
    n_bootstrap: int = 200,
    level: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """Per intervention: women's and men's rate of being recommended it, overall and in a
    similar situation, and the women-to-men ratios with percentile intervals from resampling
    persons.

    Returns one row per intervention with ``rate_woman``, ``rate_man``, ``ratio``,
    ``ratio_lower``, ``ratio_upper``, the same with a ``similar_`` prefix, and the counts of
    recommendations: ``n_recommended`` (everyone), ``n_woman``, ``n_man`` and ``n_comparable``
    (to women or men in strata that hold both: what the similar ratio rests on).
    """
    means = rate_means(
        recommended, gender, strata, person, interventions, n_bootstrap=n_bootstrap, seed=seed
    )
    return parity_table(means, recommended, gender, strata, interventions, level)


def parity_table(
    means: GroupMeans, recommended, gender, strata, interventions: list[str], level: float
) -> pd.DataFrame:
    """`rate_parity`'s table from the `rate_means` of the same choices."""
    ratio, low, high = means.ratio(level)
    table = {"intervention": interventions}
    for i, prefix in enumerate(("", "similar_")):
        table[f"{prefix}rate_woman"] = means.point[i, 0]
        table[f"{prefix}rate_man"] = means.point[i, 1]
        table[f"{prefix}ratio"] = ratio[i]
        table[f"{prefix}ratio_lower"] = low[i]
        table[f"{prefix}ratio_upper"] = high[i]
    chosen = _codes(recommended, interventions)
    gender = np.asarray(gender, dtype=object)
    strata = np.asarray(strata)
    k = len(interventions)
    table["n_recommended"] = np.bincount(chosen, minlength=k)
    for name in GROUPS:
        table[f"n_{name}"] = np.bincount(chosen[gender == name], minlength=k)
    table["n_comparable"] = np.bincount(chosen[_shared_strata(gender, strata)], minlength=k)
    return pd.DataFrame(table)


def _shared_strata(gender: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """Whether each row is a woman's or a man's in a stratum that holds both."""
    present = [np.unique(strata[gender == name]) for name in GROUPS]
    return np.isin(gender, GROUPS) & np.isin(strata, np.intersect1d(*present))


def _codes(recommended, interventions: list[str]) -> np.ndarray:
    recommended = np.asarray(recommended, dtype=object)
    chosen = pd.Index(interventions).get_indexer(recommended)
    if (chosen < 0).any():
        bad = sorted({str(c) for c in recommended[chosen < 0]})[:5]
        raise ValueError(f"recommended names interventions the catalogue lacks: {bad}")
    return chosen
