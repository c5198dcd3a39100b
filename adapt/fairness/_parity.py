"""Women's and men's means, overall and in a similar situation, with person-clustered bootstrap
replicates; and the parity of recommended interventions built on them.

"In a similar situation" standardises each group's mean to the same mix of situations (strata of
region, current step, Swedish level, mental health and years on support): the mean a group would
have if its situations were distributed like everyone's. Region is part of the situation because
it decides what can be offered at all. A gap that remains is not explained by women and
men standing in different places.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from adapt._bootstrap import percentile_interval

GROUPS = ("woman", "man")
SITUATION = ("region", "current_step", "swedish_level", "mental_ill_health", "years_on_support")
YEARS_BANDS = (0, 1, 3, np.inf)  # years on support: under 1, 1 to 3, 3 or more


def situation_strata(features: pd.DataFrame) -> np.ndarray:
    """A stratum code per decision point from the `SITUATION` columns."""
    missing = [c for c in SITUATION if c not in features]
    if missing:
        raise ValueError(f"the decision points lack the situation columns {missing}")
    years = pd.cut(features["years_on_support"], YEARS_BANDS, right=False, labels=False)
    parts = [
        features["region"].astype(str),
        features["current_step"].astype(str),
        features["swedish_level"].astype(str),
        features["mental_ill_health"].astype(str),
        years.astype(str),
    ]
    return pd.factorize(pd.Series(["|".join(p) for p in zip(*parts, strict=True)]))[0]


@dataclass
class GroupMeans:
    """Means of k values for women and men: ``point`` is (2, 2, k) — (overall, similar
    situation) x (woman, man) x value — and ``replicates`` the same per bootstrap draw."""

    point: np.ndarray
    replicates: np.ndarray

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
    standardised to everyone's mix of `strata` over the strata where both are present.

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
            both = (places > 0).all(axis=2)
            mix = np.where(both, places.sum(axis=2), 0.0)
            mix = mix / mix.sum(axis=1, keepdims=True)
            similar = np.einsum("rs,rsgk->rgk", mix, np.nan_to_num(within))
        return np.stack([overall, similar], axis=1)

    point = estimates(np.ones((1, n_persons)))[0]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_persons, np.full(n_persons, 1 / n_persons), size=n_bootstrap)
    return GroupMeans(point, estimates(draws.astype(float)))


def rate_parity(
    recommended: pd.Series,
    gender: pd.Series,
    strata: np.ndarray,
    person: pd.Series,
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
    ``ratio_lower``, ``ratio_upper`` and the same with a ``similar_`` prefix.
    """
    recommended = np.asarray(recommended, dtype=object)
    chosen = pd.Index(interventions).get_indexer(recommended)
    if (chosen < 0).any():
        bad = sorted(set(recommended[chosen < 0].astype(str)))[:5]
        raise ValueError(f"recommended names interventions the catalogue lacks: {bad}")
    one_hot = sparse.csr_matrix(
        (np.ones(len(chosen)), (np.arange(len(chosen)), chosen)),
        shape=(len(chosen), len(interventions)),
    )
    means = group_means(one_hot, gender, strata, person, n_bootstrap=n_bootstrap, seed=seed)
    ratio, low, high = means.ratio(level)
    table = {"intervention": interventions}
    for i, prefix in enumerate(("", "similar_")):
        table[f"{prefix}rate_woman"] = means.point[i, 0]
        table[f"{prefix}rate_man"] = means.point[i, 1]
        table[f"{prefix}ratio"] = ratio[i]
        table[f"{prefix}ratio_lower"] = low[i]
        table[f"{prefix}ratio_upper"] = high[i]
    return pd.DataFrame(table)
