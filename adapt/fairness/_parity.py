"""Parity of recommended interventions between women and men, overall and in a similar
situation, each with a person-clustered bootstrap interval.

"In a similar situation" standardises each group's rate to the same mix of situations (strata of
current step, Swedish level, mental health and years on support): the rate a group would have
if its situations were distributed like everyone's. A gap that remains is not explained by
women and men standing in different places.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from adapt._bootstrap import percentile_interval

GROUPS = ("woman", "man")
SITUATION = ("current_step", "swedish_level", "mental_ill_health", "years_on_support")
YEARS_BANDS = (0, 1, 3, np.inf)  # years on support: under 1, 1 to 3, 3 or more


def situation_strata(features: pd.DataFrame) -> np.ndarray:
    """A stratum code per decision point from the `SITUATION` columns."""
    missing = [c for c in SITUATION if c not in features]
    if missing:
        raise ValueError(f"the decision points lack the situation columns {missing}")
    years = pd.cut(features["years_on_support"], YEARS_BANDS, right=False, labels=False)
    parts = [
        features["current_step"].astype(str),
        features["swedish_level"].astype(str),
        features["mental_ill_health"].astype(str),
        years.astype(str),
    ]
    return pd.factorize(pd.Series(["|".join(p) for p in zip(*parts, strict=True)]))[0]


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
    gender = np.asarray(gender, dtype=object)
    keep = np.isin(gender, GROUPS)
    codes, n_persons = pd.factorize(np.asarray(person)[keep])[0], None
    n_persons = codes.max() + 1 if len(codes) else 0
    if n_persons == 0:
        raise ValueError("no decision point of a woman or a man to compare")
    chosen = pd.Index(interventions).get_indexer(recommended[keep])
    if (chosen < 0).any():
        bad = sorted(set(recommended[keep][chosen < 0]))[:5]
        raise ValueError(f"recommended names interventions the catalogue lacks: {bad}")
    group = (gender[keep] == "man").astype(int)
    stratum = np.asarray(strata)[keep]
    n_strata, n_arms = stratum.max() + 1, len(interventions)
    cell = (stratum * 2 + group) * n_arms + chosen  # (stratum, group, arm)
    size = n_strata * 2 * n_arms
    # Per person: counts per (stratum, group, arm) and per (stratum, group), kept sparse.
    ones = np.ones(len(codes))
    chosen_counts = sparse.csr_matrix((ones, (codes, cell)), shape=(n_persons, size))
    place_counts = sparse.csr_matrix(
        (ones, (codes, stratum * 2 + group)), shape=(n_persons, n_strata * 2)
    )

    def estimates(weights: np.ndarray) -> np.ndarray:
        """(replicates, 4, arms): rates of women and men, overall and standardised."""
        cells = (chosen_counts.T @ weights.T).T.reshape(-1, n_strata, 2, n_arms)
        places = (place_counts.T @ weights.T).T.reshape(-1, n_strata, 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            overall = cells.sum(axis=1) / places.sum(axis=1)[..., None]
            within = cells / places[..., None]
            # everyone's mix of situations, over strata where both groups are present
            both = (places > 0).all(axis=2)
            mix = np.where(both, places.sum(axis=2), 0.0)
            mix = mix / mix.sum(axis=1, keepdims=True)
            similar = np.einsum("rs,rsga->rga", mix, np.nan_to_num(within))
        return np.concatenate([overall, similar], axis=1)

    point = estimates(np.ones((1, n_persons)))[0]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n_persons, np.full(n_persons, 1 / n_persons), size=n_bootstrap)
    replicates = estimates(draws.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = replicates[:, [0, 2]] / replicates[:, [1, 3]]  # women / men
        point_ratio = point[[0, 2]] / point[[1, 3]]
    alpha = 1 - level
    table = {"intervention": interventions}
    for i, prefix in enumerate(("", "similar_")):
        low, high = percentile_interval(ratios[:, i], alpha)
        table[f"{prefix}rate_woman"] = point[2 * i]
        table[f"{prefix}rate_man"] = point[2 * i + 1]
        table[f"{prefix}ratio"] = point_ratio[i]
        table[f"{prefix}ratio_lower"] = low
        table[f"{prefix}ratio_upper"] = high
    return pd.DataFrame(table)
