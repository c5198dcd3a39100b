"""X-learner: impute effects against the usual path, model them, weight by propensity."""

import numpy as np

from adapt.models import _lightgbm
from adapt.models._arms import predict_pairs, with_arm
from adapt.models._base import MultiTreatmentLearner


class XLearner(MultiTreatmentLearner):
    """Multi-arm X-learner (Künzel et al.) with the usual path u(x) as the reference arm.

    Rows that received arm a impute ``Y - mu_u(x)``; rows that received u impute
    ``mu_a(x) - Y``. Two pooled models (intervention as a feature) learn these effects and are
    combined with weights ``e_u / (e_a + e_u)`` and ``e_a / (e_a + e_u)``;
    ``p_a(x) = mu_u(x) + tau_a(x)``. Each half-sample cross-fits its own outcome and propensity
    models, so the interval includes their uncertainty.
    """

    nuisance_models = ("outcome", "propensity")

    def _fit_one(self, X, t, y, available, groups, seed):
        outcome, propensity = self._fit_nuisances(X, t, y, available, groups, seed)
        mu, usual = outcome.out_of_fold_, propensity.out_of_fold_.argmax(axis=1)
        n = np.arange(len(X))
        mu_usual = mu[n, usual]
        treated = t != usual
        rows_1, arms_1 = n[treated], t[treated]
        target_1 = y[treated] - mu_usual[treated]
        control = np.flatnonzero(~treated)
        r, arms_0 = np.nonzero(available[control])
        rows_0 = control[r]
        other = arms_0 != usual[rows_0]
        rows_0, arms_0 = rows_0[other], arms_0[other]
        target_0 = mu[rows_0, arms_0] - y[rows_0]
        effects = []
        for k, (rows, arms, target) in enumerate(
            ((rows_1, arms_1, target_1), (rows_0, arms_0, target_0))
        ):
            model = _lightgbm.regressor(
                random_state=self.random_state + 100 + 2 * seed + k,
                n_jobs=self.n_jobs,
                **self._lightgbm(),
            )
            effects.append(
                _lightgbm.fit(model, with_arm(X.iloc[rows], arms, self.interventions_), target)
            )
        return outcome, propensity, effects

    def _predict_one(self, fitted, X, rows, arms):
        outcome, propensity, (effect_1, effect_0) = fitted
        e = propensity.predict(X, self._available(X))
        usual = e.argmax(axis=1)
        mu_usual = outcome.predict(X, np.arange(len(X)), usual)
        tau_1 = predict_pairs(effect_1, X, rows, arms, self.interventions_)
        tau_0 = predict_pairs(effect_0, X, rows, arms, self.interventions_)
        e_a, e_u = e[rows, arms], e[rows, usual[rows]]
        tau = (e_u * tau_1 + e_a * tau_0) / (e_a + e_u)
        return np.where(arms == usual[rows], mu_usual[rows], mu_usual[rows] + tau)

    def _explained_parts(self, fitted, X, rows, arms):
        # An approximation: the outcome model (pooled, cross-fitted) behind the estimate,
        # without the effect models on top of it; it names the features that drive progression.
        return fitted[0].explained_parts(X, rows, arms)
