"""DR-learner: regress doubly robust pseudo-outcomes on features and intervention."""

import numpy as np

from adapt.models import _lightgbm
from adapt.models._arms import CrossFittedOutcome, predict_pairs, with_arm
from adapt.models._base import MultiTreatmentLearner

OTHER_ARMS_PER_ROW = 2


class DRLearner(MultiTreatmentLearner):
    """Pseudo-outcome ``mu_a(x) + 1[A=a] (Y - mu_a(x)) / e_a(x)`` from cross-fitted nuisances.

    The final model pools arms (intervention as a feature). It is fitted on each row's observed
    arm, which carries the correction, plus two other offered arms drawn at random, which keeps
    the stacked data three times the rows rather than the number of offered arms.
    """

    nuisance_models = ("outcome", "propensity")

    def _prepare(self, X, t, y, available, groups):
        self.outcome_ = CrossFittedOutcome(
            self.interventions_, self._lightgbm(), self.n_folds, self.random_state + 10, self.n_jobs
        ).fit(X, t, y, available, groups)
        mu = self.outcome_.out_of_fold_
        e = self.propensity_.out_of_fold_
        rows = np.arange(len(X))
        pseudo = mu.copy()
        pseudo[rows, t] += (y - mu[rows, t]) / e[rows, t]
        return {"pseudo": pseudo}

    def _fit_one(self, X, t, y, available, shared, seed):
        rng = np.random.default_rng(self.random_state + 200 + seed)
        scores = np.where(available, rng.random(available.shape), -1.0)
        scores[np.arange(len(X)), t] = 2.0  # the observed arm always comes first
        top = np.argsort(-scores, axis=1)[:, : 1 + OTHER_ARMS_PER_ROW]
        rows = np.repeat(np.arange(len(X)), top.shape[1])
        arms = top.ravel()
        keep = available[rows, arms]
        rows, arms = rows[keep], arms[keep]
        model = _lightgbm.regressor(
            random_state=self.random_state + 100 + seed, n_jobs=self.n_jobs, **self._lightgbm()
        )
        return model.fit(
            with_arm(X.iloc[rows], arms, self.interventions_), shared["pseudo"][rows, arms]
        )

    def _predict_one(self, model, X, rows, arms):
        return predict_pairs(model, X, rows, arms, self.interventions_)
