"""Turn estimated probabilities into one recommended intervention per decision point."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.models import best_arms


def _codes(columns, prefix: str) -> list[str]:
    return [c.removeprefix(prefix) for c in columns]


def choose_best(
    p: pd.DataFrame,
    usual: pd.Series | None = None,
    uplift_lower: pd.DataFrame | None = None,
    min_uplift: float | None = None,
) -> pd.Series:
    """The offered intervention with the highest estimated probability, per row.

    Parameters
    ----------
    p : DataFrame
        ``p_<intervention>`` columns, NaN where the intervention is not offered.
    usual, uplift_lower, min_uplift : optional
        With `min_uplift`, recommend the best intervention only where the lower bound of its
        uplift interval (`uplift_lower`, ``uplift_<intervention>`` columns from
        ``predict_uplift_interval``: an interval of the difference from current practice) is at
        least `min_uplift`; elsewhere keep the `usual` path.

    Ties go to the intervention listed first in the catalogue, so choices are deterministic.
    """
    values = p.to_numpy(float)
    offered = ~np.isnan(values)
    if not offered.any(axis=1).all():
        rows = np.flatnonzero(~offered.any(axis=1))[:10].tolist()
        raise ValueError(f"no intervention is offered in rows {rows}")
    codes = np.asarray(_codes(p.columns, "p_"))
    best = best_arms(values)
    chosen = codes[best]
    if min_uplift is not None:
        if usual is None or uplift_lower is None:
            raise ValueError("min_uplift needs both the usual path and the uplift's lower bounds")
        if list(_codes(uplift_lower.columns, "uplift_")) != list(codes):
            raise ValueError(
                "uplift_lower must have an uplift_<intervention> column for each p_ column, "
                f"in order; got {list(uplift_lower.columns)[:5]}"
            )
        usual_index = pd.Index(codes).get_indexer(usual.to_numpy())
        if (usual_index < 0).any():
            raise ValueError("usual names interventions that p has no column for")
        gain = uplift_lower.to_numpy(float)[np.arange(len(values)), best]
        chosen = np.where(gain >= min_uplift, chosen, codes[usual_index])
    return pd.Series(chosen, index=p.index, name="recommended")
