"""Off-policy value of a deterministic target policy from logged data: IPS, SNIPS, DR."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapt.evaluation._bootstrap import bootstrap_ratios, percentile_interval
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

    ``n_clipped`` counts rows whose observed-action propensity was raised to ``clip``;
    ``max_weight`` and ``effective_sample_size`` (Kish, over rows where the target agrees with
    the observed action) show how much the estimate leans on few rows.
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
    match: np.ndarray  # target choice == observed action
    weight: np.ndarray  # 1 / e(observed), after clipping
    reward: np.ndarray
    mu_target: np.ndarray | None
    mu_observed: np.ndarray | None
    n_clipped: int


def _prepare(choices, observed, reward, propensity, outcome, interventions, clip) -> _Logged:
    check_clip(clip)
    codes = resolve_interventions(interventions, propensity, outcome)
    n = len(vector(observed, "observed"))
    target = code_index(choices, codes, "choices", n)
    obs = code_index(observed, codes, "observed", n)
    r = unit_interval(reward, "reward", n)
    e = propensity_matrix(propensity, n, codes)
    rows = np.arange(n)
    unavailable = e[rows, target] == 0
    if unavailable.any():
        raise ValueError(
            "choices pick interventions with behaviour propensity 0 (not available or never "
            f"chosen there) on {show_rows(unavailable)}; the value of such choices cannot be "
            "estimated from logged data"
        )
    e_obs = e[rows, obs]
    zero = e_obs == 0
    if zero.any():
        raise ValueError(
            f"observed actions have behaviour propensity 0 on {show_rows(zero)}; expected a "
            "positive propensity for every observed action (fix the propensity model)"
        )
    n_clipped = 0
    if clip is not None:
        small = e_obs < clip
        n_clipped = int(small.sum())
        e_obs = np.maximum(e_obs, clip)
    mu_t = mu_o = None
    if outcome is not None:
        mu = matrix(outcome, "outcome", n, codes)
        mu_t, mu_o = mu[rows, target], mu[rows, obs]
        bad = ~(np.isfinite(mu_t) & np.isfinite(mu_o))
        bad |= (mu_t < 0) | (mu_t > 1) | (mu_o < 0) | (mu_o > 1)
        if bad.any():
            raise ValueError(
                "outcome predictions must be finite and in [0, 1] for the target's and the "
                f"observed intervention; they are not on {show_rows(bad)}"
            )
    return _Logged(target == obs, 1.0 / e_obs, r, mu_t, mu_o, n_clipped)


def _terms(method: str, d: _Logged) -> tuple[np.ndarray, np.ndarray]:
    """Per-row numerator and denominator: the estimate is sum(num) / sum(den)."""
    w = d.match * d.weight
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
    choices : array-like of str
        The deterministic target policy: one intervention code per row.
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
    """Inverse propensity scoring: the mean of ``1[a_i = pi_i] r_i / e_i(a_i)``."""
    return _point("ips", _prepare(choices, observed, reward, propensity, None, interventions, clip))


def snips(choices, observed, reward, propensity, *, interventions=None, clip=None) -> float:
    """Self-normalised IPS: ``sum(w_i r_i) / sum(w_i)`` with ``w_i = 1[a_i = pi_i] / e_i(a_i)``."""
    return _point(
        "snips", _prepare(choices, observed, reward, propensity, None, interventions, clip)
    )


def doubly_robust(
    choices, observed, reward, propensity, outcome, *, interventions=None, clip=None
) -> float:
    """Doubly robust: the mean of ``mu_i(pi_i) + 1[a_i = pi_i] (r_i - mu_i(a_i)) / e_i(a_i)``."""
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
    w = d.weight[d.match]
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
        n_matched=int(d.match.sum()),
        n_clipped=d.n_clipped,
        max_weight=float(w.max()) if len(w) else 0.0,
        effective_sample_size=ess,
    )
