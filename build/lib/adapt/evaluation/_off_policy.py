"""Off-policy value of a target policy from logged data: IPS, SNIPS and doubly robust."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapt._bootstrap import bootstrap_ratios, percentile_interval
from adapt.evaluation._validate import (
    check_bootstrap,
    check_clip,
    code_index,
    group_codes,
    matrix,
    propensity_matrix,
    resolve_interventions,
    show_rows,
    unit_interval,
    vector,
)

METHODS = ("ips", "snips", "dr")


@dataclass(frozen=True)
class OffPolicyEstimate:
    """An off-policy value estimate with its cluster-bootstrap percentile interval.

    ``n_matched`` counts rows with a positive weight (the target could take the observed
    action), ``n_clipped`` rows whose observed-action propensity was raised to ``clip``;
    ``max_weight`` and ``effective_sample_size`` (Kish, over the matched rows) show how much the
    estimate leans on few rows.
    """

    method: str
    estimate: float
    ci_low: float
    ci_high: float
    alpha: float
    n_rows: int
    n_groups: int
    n_bootstrap: int
    n_matched: int
    n_clipped: int
    max_weight: float
    effective_sample_size: float


@dataclass(frozen=True)
class _Logged:
    weight: np.ndarray  # pi(observed) / e(observed), e after clipping
    reward: np.ndarray
    mu_target: np.ndarray | None  # sum_a pi(a) mu(a)
    mu_observed: np.ndarray | None
    n_clipped: int


def _target_matrix(choices, e: np.ndarray, codes) -> np.ndarray:
    """The target policy as (n, A) probabilities: one-hot for codes, checked for a matrix."""
    n = len(e)
    if isinstance(choices, pd.DataFrame) or np.ndim(choices) == 2:
        pi = matrix(choices, "choices", n, codes)
        bad = ~np.isfinite(pi).all(axis=1) | ((pi < 0) | (pi > 1)).any(axis=1)
        bad |= np.abs(pi.sum(axis=1) - 1) > 1e-6
        if bad.any():
            raise ValueError(
                "choices as a matrix must hold target probabilities in [0, 1] summing to 1 per "
                f"row; they do not on {show_rows(bad)}"
            )
    else:
        pi = np.zeros_like(e)
        pi[np.arange(n), code_index(choices, codes, "choices", n)] = 1.0
    unavailable = ((pi > 0) & (e == 0)).any(axis=1)
    if unavailable.any():
        raise ValueError(
            "choices pick interventions with behaviour propensity 0 (not available or never "
            f"chosen there) on {show_rows(unavailable)}; the value of such choices cannot be "
            "estimated from logged data"
        )
    return pi


def _prepare(choices, observed, reward, propensity, outcome, interventions, clip) -> _Logged:
    check_clip(clip)
    codes = resolve_interventions(interventions, propensity, outcome, choices)
    n = len(vector(observed, "observed"))
    obs = code_index(observed, codes, "observed", n)
    r = unit_interval(reward, "reward", n)
    e = propensity_matrix(propensity, n, codes)
    pi = _target_matrix(choices, e, codes)
    rows = np.arange(n)
    e_obs = e[rows, obs]
    zero = e_obs == 0
    if zero.any():
        raise ValueError(
            f"observed actions have behaviour propensity 0 on {show_rows(zero)}; expected a "
            "positive propensity for every observed action (fix the propensity model)"
        )
    n_clipped = 0
    if clip is not None:
        n_clipped = int((e_obs < clip).sum())
        e_obs = np.maximum(e_obs, clip)
    mu_t = mu_o = None
    if outcome is not None:
        mu = matrix(outcome, "outcome", n, codes)
        used = (pi > 0) | (np.arange(len(codes)) == obs[:, None])
        bad = (used & ~(np.isfinite(mu) & (mu >= 0) & (mu <= 1))).any(axis=1)
        if bad.any():
            raise ValueError(
                "outcome predictions must be finite and in [0, 1] for the target's and the "
                f"observed interventions; they are not on {show_rows(bad)}"
            )
        mu_t = np.where(pi > 0, pi * mu, 0.0).sum(axis=1)
        mu_o = mu[rows, obs]
    return _Logged(pi[rows, obs] / e_obs, r, mu_t, mu_o, n_clipped)


def _terms(method: str, d: _Logged) -> tuple[np.ndarray, np.ndarray]:
    """Per-row numerator and denominator: the estimate is sum(num) / sum(den)."""
    w = d.weight
    if method == "ips":
        return w * d.reward, np.ones_like(w)
    if method == "snips":
        return w * d.reward, w
    if method == "dr":
        if d.mu_target is None:
            raise ValueError("method 'dr' needs outcome predictions (outcome=...), got None")
        return d.mu_target + w * (d.reward - d.mu_observed), np.ones_like(w)
    raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")


def _point(method: str, d: _Logged) -> float:
    num, den = _terms(method, d)
    if den.sum() == 0:
        raise ValueError(
            "SNIPS is undefined: the target policy never agrees with the observed action"
        )
    return float(num.sum() / den.sum())


_ARGS = """
    Parameters
    ----------
    choices : array-like of str, or (n, A) array or DataFrame
        The target policy: one intervention code per row (deterministic), or target
        probabilities per row (stochastic; 0 where the behaviour propensity is 0).
    observed : array-like of str
        The intervention actually chosen at each row.
    reward : array-like of float
        1 if the episode progressed, else 0 (values in [0, 1]).
    propensity : (n, A) array or DataFrame
        Behaviour propensities; rows sum to 1, 0 where an intervention is not available. A
        DataFrame's columns are the intervention codes.{outcome}
    interventions : sequence of str, optional
        The matrices' column codes; by default a DataFrame's columns, else the catalogue's codes.
    clip : float, optional
        Observed-action propensities below `clip` are raised to `clip` (weights capped at
        1/clip: less variance, some bias). By default nothing is clipped, and a zero propensity
        for an observed action raises ValueError.
"""
_OUTCOME = """
    outcome : (n, A) array or DataFrame
        Outcome-model predictions: the progression probability of every intervention per row."""


def ips(choices, observed, reward, propensity, *, interventions=None, clip=None) -> float:
    """Inverse propensity scoring: the mean of ``w_i r_i``, ``w_i = pi_i(a_i) / e_i(a_i)``.

    For a deterministic target ``pi_i(a_i)`` is 1 if the target chose the observed action ``a_i``,
    else 0.
    """
    return _point("ips", _prepare(choices, observed, reward, propensity, None, interventions, clip))


def snips(choices, observed, reward, propensity, *, interventions=None, clip=None) -> float:
    """Self-normalised IPS: ``sum(w_i r_i) / sum(w_i)`` with ``w_i = pi_i(a_i) / e_i(a_i)``."""
    return _point(
        "snips", _prepare(choices, observed, reward, propensity, None, interventions, clip)
    )


def doubly_robust(
    choices, observed, reward, propensity, outcome, *, interventions=None, clip=None
) -> float:
    """Doubly robust: the mean of ``sum_a pi_i(a) mu_i(a) + w_i (r_i - mu_i(a_i))``.

    ``w_i = pi_i(a_i) / e_i(a_i)`` as in :func:`ips`; unbiased if either the propensities or the
    outcome model are right.
    """
    return _point(
        "dr", _prepare(choices, observed, reward, propensity, outcome, interventions, clip)
    )


for _f, _extra in ((ips, ""), (snips, ""), (doubly_robust, _OUTCOME)):
    if _f.__doc__:  # None under python -OO
        _f.__doc__ += _ARGS.format(outcome=_extra)


def off_policy_value(
    method: str,
    choices,
    observed,
    reward,
    propensity,
    outcome=None,
    *,
    interventions=None,
    groups=None,
    n_bootstrap: int = 200,
    alpha: float = 0.05,
    clip: float | None = None,
    seed: int = 0,
) -> OffPolicyEstimate:
    """Estimate a target policy's value with a person-clustered bootstrap interval.

    Takes `method` ('ips', 'snips' or 'dr'; 'dr' needs `outcome`) and the arguments of
    :func:`doubly_robust`, plus:

    Parameters
    ----------
    groups : array-like, optional
        Cluster labels (person_id): the bootstrap resamples whole clusters with replacement.
        Every row is its own cluster by default.
    n_bootstrap : int
        Bootstrap replicates; 0 gives no interval (NaN bounds).
    alpha : float
        The percentile interval covers 1 - alpha.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    OffPolicyEstimate
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    check_bootstrap(n_bootstrap, alpha)
    d = _prepare(choices, observed, reward, propensity, outcome, interventions, clip)
    estimate = _point(method, d)
    n = len(d.reward)
    codes, n_groups = group_codes(groups, n)
    num, den = _terms(method, d)
    reps = bootstrap_ratios(num, den, codes, n_groups, n_bootstrap, seed)
    low, high = percentile_interval(reps, alpha)
    w = d.weight[d.weight > 0]
    ess = float(w.sum() ** 2 / (w**2).sum()) if len(w) else 0.0
    return OffPolicyEstimate(
        method=method,
        estimate=estimate,
        ci_low=float(low[0]),
        ci_high=float(high[0]),
        alpha=alpha,
        n_rows=n,
        n_groups=n_groups,
        n_bootstrap=n_bootstrap,
        n_matched=int((d.weight > 0).sum()),
        n_clipped=d.n_clipped,
        max_weight=float(w.max()) if len(w) else 0.0,
        effective_sample_size=ess,
    )
