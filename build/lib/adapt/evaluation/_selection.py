"""A truth-free criterion to choose among learners: the cross-fitted doubly robust value.

For each person-grouped fold a candidate is fitted on the
other folds and recommends the best offered intervention on the held-out rows; that choice is
scored with a doubly robust estimate whose nuisances (behaviour propensities ``e`` and outcome
model ``mu``) are *shared*: one S-learner per fold, fitted on the other folds, the same for every
candidate, so candidates are scored alike and no candidate grades itself. The out-of-fold DR terms
are pooled over folds; the interval is a person bootstrap of the pooled terms (it treats the fitted
models as fixed, so it shows the scoring noise, not the refitting noise).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapt._bootstrap import bootstrap_ratios, percentile_interval, simultaneous_interval
from adapt.evaluation._off_policy import _prepare, _terms
from adapt.evaluation._validate import group_codes
from adapt.models import make_learner
from adapt.models._cross_fit import person_folds
from adapt.policies import choose_best


@dataclass(frozen=True)
class Nuisances:
    """Out-of-fold behaviour propensities `e` and outcome estimates `mu`, (n, A) each, with the
    person-grouped `folds` (row indices) they were cross-fitted on and the column `codes`."""

    folds: list[np.ndarray]
    e: np.ndarray
    mu: np.ndarray
    codes: list[str]


@dataclass(frozen=True)
class SelectionScore:
    """A candidate's out-of-fold DR value with its person-bootstrap interval, the caseworkers'
    value (mean observed outcome) on the same rows, the candidate's out-of-fold choices and the
    seconds its fits and predictions took."""

    value: float
    low: float
    high: float
    behaviour_value: float
    choices: np.ndarray
    seconds: float


def cross_fitted_nuisances(
    X: pd.DataFrame,
    treatment,
    y,
    groups,
    n_folds: int = 3,
    seed: int = 0,
    make_nuisance: Callable | None = None,
) -> Nuisances:
    """One nuisance pair per person-grouped fold, fitted on the other folds.

    `make_nuisance()` returns a fresh unfitted learner whose ``predict`` gives ``mu`` and whose
    ``behaviour_probabilities`` gives ``e``; by default an S-learner with one bag.
    """
    make_nuisance = make_nuisance or (lambda: make_learner("s", n_bags=1, random_state=seed))
    t, y = np.asarray(treatment, dtype=object), np.asarray(y)
    groups = np.asarray(groups)
    folds = person_folds(len(X), groups, n_folds, seed)
    e = mu = codes = None
    for rows in folds:
        rest = np.setdiff1d(np.arange(len(X)), rows)
        model = make_nuisance().fit(X.iloc[rest], t[rest], y[rest], groups=groups[rest])
        held = X.iloc[rows]
        if e is None:
            codes = list(model.interventions_)
            e, mu = np.zeros((len(X), len(codes))), np.zeros((len(X), len(codes)))
        e[rows] = model.behaviour_probabilities(held).to_numpy(float)
        mu[rows] = np.nan_to_num(model.predict(held).to_numpy(float))
    return Nuisances(folds, e, mu, codes)


def out_of_fold_choices(make: Callable, X: pd.DataFrame, treatment, y, groups, folds) -> np.ndarray:
    """The candidate's recommendation (best offered intervention) on each row, from a fit on the
    other folds."""
    t, y, groups = np.asarray(treatment, dtype=object), np.asarray(y), np.asarray(groups)
    choices = np.empty(len(X), dtype=object)
    for rows in folds:
        rest = np.setdiff1d(np.arange(len(X)), rows)
        model = make().fit(X.iloc[rest], t[rest], y[rest], groups=groups[rest])
        choices[rows] = choose_best(model.predict(X.iloc[rows])).to_numpy()
    return choices


def dr_score(
    choices,
    treatment,
    y,
    groups,
    nuisances: Nuisances,
    *,
    n_bootstrap: int = 200,
    alpha: float = 0.05,
    clip: float | None = 0.01,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Pooled DR value of `choices` under shared `nuisances`, with a person-bootstrap interval."""
    num = dr_terms(choices, treatment, y, nuisances, clip)
    codes, n_groups = group_codes(np.asarray(groups), len(num))
    reps = bootstrap_ratios(num, np.ones_like(num), codes, n_groups, n_bootstrap, seed)
    low, high = percentile_interval(reps, alpha)
    return float(num.mean()), float(low[0]), float(high[0])


def policy_value_out_of_fold(
    make: Callable,
    X: pd.DataFrame,
    treatment,
    y,
    groups,
    n_folds: int = 3,
    seed: int = 0,
    *,
    nuisances: Nuisances | None = None,
    n_bootstrap: int = 200,
    clip: float | None = 0.01,
) -> SelectionScore:
    """Cross-fitted doubly robust value of the policy the candidate `make()` induces.

    Parameters
    ----------
    make : callable
        Returns a fresh unfitted learner (``fit(X, treatment, y, groups=...)`` and ``predict``
        giving ``p_<intervention>`` columns, NaN where not offered).
    X, treatment, y, groups : decision points and their person ids.
    n_folds, seed : person-grouped folds and their seed (ignored when `nuisances` is given).
    nuisances : Nuisances, optional
        From :func:`cross_fitted_nuisances`; pass the same to every candidate to save the
        nuisance fits. Its folds are the candidate's folds too.
    n_bootstrap, clip : the person bootstrap's replicates; the propensity floor of the weights.
    """
    if nuisances is None:
        nuisances = cross_fitted_nuisances(X, treatment, y, groups, n_folds, seed)
    began = time.perf_counter()
    choices = out_of_fold_choices(make, X, treatment, y, groups, nuisances.folds)
    seconds = time.perf_counter() - began
    value, low, high = dr_score(
        choices, treatment, y, groups, nuisances, n_bootstrap=n_bootstrap, clip=clip, seed=seed
    )
    return SelectionScore(value, low, high, float(np.mean(y)), choices, seconds)


def dr_terms(choices, treatment, y, nuisances: Nuisances, clip: float | None = 0.01) -> np.ndarray:
    """Per row, the doubly robust term of `choices` under `nuisances`: their mean is the value."""
    d = _prepare(
        np.asarray(choices, dtype=object),
        np.asarray(treatment, dtype=object),
        np.asarray(y, dtype=float),
        nuisances.e,
        nuisances.mu,
        nuisances.codes,
        clip,
    )
    return _terms("dr", d)[0]


def score_candidates(
    choices: dict[str, np.ndarray],
    treatment,
    y,
    groups,
    nuisances: Nuisances,
    reference: str,
    *,
    level: float = 0.9,
    n_bootstrap: int = 500,
    clip: float | None = 0.01,
    seed: int = 0,
) -> pd.DataFrame:
    """Every candidate's out-of-fold DR value, and its gains over the `reference` candidate and
    over the caseworkers, with intervals from one person bootstrap shared by all.

    Pairing is what makes small differences visible: two policies that agree on most rows share
    most of their noise, which a difference of separate intervals would count twice. The gains
    over the reference hold jointly at `level` (a max-t band over the challengers), so the more
    candidates, the more a challenger must gain to be believed. The caseworkers' value is the
    mean observed outcome (their policy is the one the data followed).

    Returns one row per candidate (in the order given): ``value``, ``low``, ``high``,
    ``gain``/``gain_low``/``gain_high`` (over the reference; 0 for itself),
    ``over_caseworkers``/``over_caseworkers_low``/``over_caseworkers_high`` and
    ``over_caseworkers_p``, the share of bootstrap replicates in which the gain over the
    caseworkers is not positive (a one-sided p-value).
    """
    if reference not in choices:
        raise ValueError(f"reference {reference!r} is not a candidate; got {sorted(choices)}")
    names = list(choices)
    y = np.asarray(y, dtype=float)
    terms = np.column_stack([dr_terms(choices[n], treatment, y, nuisances, clip) for n in names])
    ref = names.index(reference)
    columns = np.column_stack([terms, terms - terms[:, [ref]], terms - y[:, None]])
    codes, n_groups = group_codes(np.asarray(groups), len(y))
    reps = bootstrap_ratios(columns, np.ones_like(columns), codes, n_groups, n_bootstrap, seed)
    point = columns.mean(axis=0)
    k = len(names)
    low, high = percentile_interval(reps[:, :k], 1 - level)
    others = [j for j in range(k) if j != ref]
    gain_low, gain_high = np.zeros(k), np.zeros(k)
    if others:
        cols = [k + j for j in others]
        gain_low[others], gain_high[others] = simultaneous_interval(
            reps[:, cols], point[cols], level
        )
    cw_low, cw_high = percentile_interval(reps[:, 2 * k :], 1 - level)
    with np.errstate(invalid="ignore"):
        cw_p = np.nanmean(reps[:, 2 * k :] <= 0, axis=0) if len(reps) else np.full(k, np.nan)
    return pd.DataFrame(
        {
            "value": point[:k],
            "low": low,
            "high": high,
            "gain": point[k : 2 * k],
            "gain_low": gain_low,
            "gain_high": gain_high,
            "over_caseworkers": point[2 * k :],
            "over_caseworkers_low": cw_low,
            "over_caseworkers_high": cw_high,
            "over_caseworkers_p": cw_p,
        },
        index=pd.Index(names, name="candidate"),
    )
