"""How far off are the estimates beyond their sampling spread? Measured on out-of-bag persons."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.models import _lightgbm
from adapt.models._arms import with_arm
from adapt.models._cross_fit import person_folds

N_BINS = 10
MIN_ROWS_PER_ARM = 200
RESIDUAL_MODEL = {"n_estimators": 60, "learning_rate": 0.05, "num_leaves": 15}


def bias_sd(
    y, p, arm, X: pd.DataFrame, interventions, groups=None, available=None, seed=0, n_jobs=1
) -> np.ndarray:
    """Per arm, the spread of the estimates' bias, from out-of-bag outcomes `y` and estimates `p`
    at the observed `arm`.

    Rows are grouped in two ways: by (arm, step, decile of the estimate), and by (arm, decile of
    a cross-fitted LightGBM model of the residual ``y - p`` on the features), which finds where
    the estimates go wrong together. In a group ``g`` of ``n_g`` rows the mean residual ``d_g``
    estimates the group's mean bias plus noise of variance ``v_g = mean(p (1 - p)) / n_g``, so
    ``d_g**2 - v_g`` estimates its square; an arm's variance is the row-weighted mean over its
    groups, and the larger of the two groupings counts. An arm with fewer than
    ``MIN_ROWS_PER_ARM`` rows gets all arms' pooled value, weighted by how often each is offered
    (`available`), which is how often it is judged.

    Bias that averages out within every group stays unseen, so this is a lower bound; the
    coverage it buys is measured in ``docs/learners.md``.
    """
    y, p, arm = np.asarray(y, float), np.asarray(p, float), np.asarray(arm, np.int64)
    n_arms = len(interventions)
    step = X["current_step"].to_numpy() if "current_step" in X else np.zeros(len(y))
    residual = y - p
    by_estimate = _square_bias_per_arm(residual, p, arm, _deciles(p, arm) + N_BINS * step, n_arms)
    score = _cross_fitted_residual_model(X, arm, residual, interventions, groups, seed, n_jobs)
    by_features = _square_bias_per_arm(residual, p, arm, _deciles(score, arm), n_arms)
    var = np.fmax(by_estimate, by_features)
    known = ~np.isnan(var)
    if not known.any():
        return np.zeros(n_arms)
    weights = np.ones(n_arms) if available is None else np.asarray(available, float).sum(axis=0)
    pooled = np.average(var[known], weights=weights[known] + 1e-12)
    return np.sqrt(np.where(known, var, pooled))


def _deciles(score: np.ndarray, arm: np.ndarray) -> np.ndarray:
    bins = np.zeros(len(score), np.int64)
    for a in np.unique(arm):
        rows = arm == a
        rank = pd.Series(score[rows]).rank(pct=True).to_numpy()
        bins[rows] = np.minimum(rank * N_BINS, N_BINS - 1).astype(np.int64)
    return bins


def _square_bias_per_arm(residual, p, arm, group, n_arms) -> np.ndarray:
    frame = pd.DataFrame({"arm": arm, "group": group, "residual": residual, "noise": p * (1 - p)})
    cells = frame.groupby(["arm", "group"]).agg(
        n=("residual", "size"), d=("residual", "mean"), noise=("noise", "mean")
    )
    square = cells["d"] ** 2 - cells["noise"] / cells["n"]
    rows = cells["n"].groupby(level="arm").sum()
    per_arm = ((square * cells["n"]).groupby(level="arm").sum() / rows)[rows >= MIN_ROWS_PER_ARM]
    out = np.full(n_arms, np.nan)
    out[per_arm.index.to_numpy()] = np.maximum(per_arm.to_numpy(), 0.0)
    return out


def _cross_fitted_residual_model(X, arm, residual, interventions, groups, seed, n_jobs):
    """Out-of-fold predictions of the residual from features and arm (folds by person)."""
    frame = with_arm(X, arm, interventions)
    score = np.zeros(len(X))
    for k, held_out in enumerate(person_folds(len(X), groups, 2, seed)):
        train = np.setdiff1d(np.arange(len(X)), held_out)
        model = _lightgbm.regressor(
            random_state=seed + k, n_jobs=n_jobs, min_child_samples=100, **RESIDUAL_MODEL
        )
        model.fit(frame.iloc[train], residual[train])
        score[held_out] = model.predict(frame.iloc[held_out])
    return score
