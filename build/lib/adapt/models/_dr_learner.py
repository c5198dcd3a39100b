"""DR-learner: regress doubly robust pseudo-outcomes on features and intervention."""

import lightgbm
import numpy as np

from adapt.models import _lightgbm
from adapt.models._arms import predict_pairs, with_arm
from adapt.models._base import MultiTreatmentLearner
from adapt.models._cross_fit import person_folds

# The correction is learnt from pseudo-outcomes weighted by 1 / e, which are very noisy: a small
# final stage with leaves of at least 1 % of the stacked rows, whose rounds are chosen by early
# stopping on persons held out of it (under strong confounding the correction can cost more in
# noise than it removes in bias; then it stops after a few rounds).
FINAL_STAGE = {"num_leaves": 7, "n_estimators": 300}
FINAL_LEAF_SHARE = 0.01
VALIDATION_SHARE = 0.25
PATIENCE = 20


def stacked_pseudo_outcomes(mu, e, t, y, available):
    """Every offered (row, arm) pair and its pseudo-outcome ``mu_a + 1[t=a] (y - mu_a) / e_a``.

    Returns row indices, arm indices and pseudo-outcomes, one entry per offered pair.
    """
    rows, arms = np.nonzero(available)
    observed = arms == t[rows]
    pseudo = mu[rows, arms].copy()
    pseudo[observed] += (y[rows[observed]] - pseudo[observed]) / e[rows[observed], arms[observed]]
    return rows, arms, pseudo


def validation_rows(n_rows: int, groups, seed: int) -> np.ndarray:
    """Rows of a random quarter of the persons, for early stopping (never empty: a learner
    refuses fewer than `MIN_PERSONS` persons, so a half-sample has at least ten)."""
    return person_folds(n_rows, groups, round(1 / VALIDATION_SHARE), seed)[0]


class DRLearner(MultiTreatmentLearner):
    """Pseudo-outcome ``mu_a(x) + 1[A=a] (Y - mu_a(x)) / e_a(x)`` from cross-fitted nuisances.

    Every row carries a pseudo-outcome for every arm its region offers, all stacked with equal
    weight, so each arm's regression target has the mean ``p_a(x)`` whatever the outcome model's
    error (double robustness). The final LightGBM model pools arms (intervention as a feature)
    and starts from the outcome model (``init_score``): boosting learns only the correction
    that the propensity-weighted residuals call for, in a small final stage (`FINAL_STAGE`) whose
    rounds are chosen by early stopping on a quarter of the persons held out of it. Each
    half-sample cross-fits its own outcome and propensity models, so the interval includes their
    uncertainty.
    """

    nuisance_models = ("outcome", "propensity")

    def _fit_one(self, X, t, y, available, groups, seed):
        outcome, propensity = self._fit_nuisances(X, t, y, available, groups, seed)
        mu = outcome.out_of_fold_
        rows, arms, pseudo = stacked_pseudo_outcomes(mu, propensity.out_of_fold_, t, y, available)
        final = self._lightgbm(
            **FINAL_STAGE,
            min_child_samples=max(self.min_child_samples, round(FINAL_LEAF_SHARE * len(rows))),
        )
        model = _lightgbm.regressor(
            random_state=self.random_state + 100 + seed, n_jobs=self.n_jobs, **final
        )
        stacked = with_arm(X.iloc[rows], arms, self.interventions_)
        start = mu[rows, arms]
        held = np.isin(rows, validation_rows(len(X), groups, self.random_state + 400 + seed))
        model = _lightgbm.fit(
            model,
            stacked[~held],
            pseudo[~held],
            init_score=start[~held],
            eval_X=(stacked[held],),
            eval_y=(pseudo[held],),
            eval_init_score=[start[held]],
            callbacks=[lightgbm.early_stopping(PATIENCE, verbose=False)],
        )
        return outcome, model

    def _predict_one(self, fitted, X, rows, arms):
        outcome, model = fitted
        return outcome.predict(X, rows, arms) + predict_pairs(
            model, X, rows, arms, self.interventions_
        )

    def _explained_parts(self, fitted, X, rows, arms):
        # An approximation: the outcome model (pooled, cross-fitted) behind the estimate,
        # without the correction on top of it; it names the features that drive progression.
        return fitted[0].explained_parts(X, rows, arms)
