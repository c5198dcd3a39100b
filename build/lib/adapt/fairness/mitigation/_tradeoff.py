"""The trade-off curve: total value against the largest gender gap, over strengths of
`RateGapCap`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.fairness.mitigation._problem import (
    _choose,
    _estimates,
    _groups,
    _Problem,
    _strata,
    _values,
    _weights,
)
from adapt.fairness.mitigation._rate_gap_cap import RateGapCap


def tradeoff_curve(
    p: pd.DataFrame,
    gender,
    strata,
    values=None,
    strengths=None,
    *,
    max_gap: float | None = None,
    min_recommended: int | None = None,
) -> pd.DataFrame:
    """Total value against the gender gap, for a sweep of `strengths` of `RateGapCap` and for
    the cap `max_gap`.

    Parameters
    ----------
    p, gender, strata
        As for `RateGapCap.fit`.
    values : DataFrame or array, optional
        The value of each intervention per row, to score the choices with: the true
        probabilities on simulated data (e.g. ``truth_matrix``; columns ``<intervention>`` or
        ``p_<intervention>``, rows in the order of `p`). By default the estimates `p`.
    strengths : sequence of float, optional
        By default 0, 0.1, ..., 1.
    max_gap : float, optional
        The cap to add a row for (``at_cap``); by default the audit's, 0.2.
    min_recommended : int, optional
        As for `RateGapCap`.

    Returns
    -------
    DataFrame
        One row per strength, in order of strength: ``strength``, ``max_gap`` (the cap it
        implies), ``at_cap`` (the row of `max_gap`), ``met``, ``gap`` (the largest
        ``1 - min(ratio, 1 / ratio)`` of the women/men ratio of similar-situation rates, over
        interventions recommended at least `min_recommended` times), ``value`` (mean value of
        the choices), ``value_woman``, ``value_man``, ``value_gap`` (women's mean less men's,
        not standardised) and ``changed`` (share of decision points whose recommendation
        differs from the greedy one).
    """
    cap, _, min_recommended = RateGapCap(max_gap, min_recommended=min_recommended)._settings()
    codes, estimates = _estimates(p)
    group = _groups(gender, len(estimates))
    weight = _weights(_strata(strata, len(estimates)), group)
    worth = estimates if values is None else _values(values, codes, len(estimates))
    strengths = np.linspace(0, 1, 11) if strengths is None else np.asarray(strengths, float)
    if strengths.ndim != 1 or len(strengths) == 0:
        raise ValueError("strengths must be a non-empty sequence of numbers in [0, 1]")
    problem = _Problem(estimates, group, weight, min_recommended)
    greedy = problem.greedy()
    greedy_gap = problem.largest_gap(greedy)
    at_cap = max(0.0, 1 - cap / greedy_gap) if greedy_gap > 0 else 0.0
    rows = []
    for strength in sorted({*map(float, strengths), at_cap}):
        fitted = RateGapCap(strength=strength, min_recommended=min_recommended)
        chosen = _choose(estimates, group, fitted.fit(p, gender, strata)._offsets())
        got = worth[problem.rows, chosen]
        if np.isnan(got).any():
            bad = np.flatnonzero(np.isnan(got))[:5].tolist()
            raise ValueError(f"values has no value for the chosen intervention in rows {bad}")
        women, men = got[group == 0].mean(), got[group == 1].mean()
        rows.append(
            {
                "strength": strength,
                "max_gap": fitted.max_gap_,
                "at_cap": strength == at_cap,
                "met": fitted.met_,
                "gap": problem.largest_gap(chosen),
                "value": float(got.mean()),
                "value_woman": float(women),
                "value_man": float(men),
                "value_gap": float(women - men),
                "changed": float((chosen != greedy).mean()),
            }
        )
    return pd.DataFrame(rows)
