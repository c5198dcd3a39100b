"""Turn estimated probabilities into one recommended intervention per decision point."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _codes(columns, prefix: str) -> list[str]:
    return [c.removeprefix(prefix) for c in columns]


def choose_best(
    p: pd.DataFrame,
    usual: pd.Series | None = None,
    lower: pd.DataFrame | None = None,
    min_uplift: float | None = None,
) -> pd.Series:
    """The offered intervention with the highest estimated probability, per row.

    Parameters
    ----------
    p : DataFrame
        ``p_<intervention>`` columns, NaN where the intervention is not offered.
    usual, lower, min_uplift : optional
        With `min_uplift`, recommend something other than the `usual` path only where the lower
        interval bound of the best (`lower`) exceeds the usual path's estimate by `min_uplift`.

    Ties go to the intervention listed first in the catalogue, so choices are deterministic.
    """
    values = p.to_numpy(float)
    offered = ~np.isnan(values)
    if not offered.any(axis=1).all():
        rows = np.flatnonzero(~offered.any(axis=1))[:10].tolist()
        raise ValueError(f"no intervention is offered in rows {rows}")
    codes = np.asarray(_codes(p.columns, "p_"))
    best = np.where(offered, values, -np.inf).argmax(axis=1)
    chosen = codes[best]
    if min_uplift is not None:
        if usual is None or lower is None:
            raise ValueError("min_uplift needs both the usual path and the lower bounds")
        usual_index = pd.Index(codes).get_indexer(usual.to_numpy())
        if (usual_index < 0).any():
            raise ValueError("usual names interventions that p has no column for")
        rows = np.arange(len(values))
        gain = lower.to_numpy(float)[rows, best] - values[rows, usual_index]
        chosen = np.where(gain >= min_uplift, chosen, codes[usual_index])
    return pd.Series(chosen, index=p.index, name="recommended")
