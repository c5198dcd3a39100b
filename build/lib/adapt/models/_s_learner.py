"""S-learner: one model for every intervention, the intervention being a feature."""

import numpy as np

from adapt.models._arms import pooled_outcome_model, predict_pairs, with_arm
from adapt.models._base import MultiTreatmentLearner
from adapt.models._encoded import take


class SLearner(MultiTreatmentLearner):
    """Pools all arms in one LightGBM model, so small arms borrow strength from large ones."""

    nuisance_models = ()

    def _fit_one(self, X, t, y, available, groups, seed):
        return pooled_outcome_model(
            X,
            t,
            y,
            self.interventions_,
            self._lightgbm(),
            self.random_state + 100 + seed,
            self.n_jobs,
        )

    def _predict_one(self, model, X, rows, arms):
        return predict_pairs(model, X, rows, arms, self.interventions_)

    def _encoded_input(self, E, rows, arms):
        return with_arm(E.take(rows), arms, self.interventions_)

    def _predict_encoded(self, model, pairs):
        return model.predict(pairs)

    def _explained_parts(self, model, X, rows, arms):
        frame = with_arm(take(X, rows), arms, self.interventions_)
        return [(model, frame, np.arange(len(rows)), 1.0)]
