"""T-learner: one model per intervention, fitted on the rows that received it."""

import numpy as np

from adapt.models import _lightgbm
from adapt.models._base import MultiTreatmentLearner
from adapt.models._encoded import Encoded, take

MIN_ROWS_PER_ARM = 30


class TLearner(MultiTreatmentLearner):
    """Separate LightGBM models per arm; an arm with too few rows falls back to its mean."""

    nuisance_models = ()

    def _fit_one(self, X, t, y, available, groups, seed):
        models = {}
        prior = y.mean() if len(y) else 0.5
        for arm in range(len(self.interventions_)):
            rows = np.flatnonzero(t == arm)
            outcomes = y[rows]
            if len(rows) < MIN_ROWS_PER_ARM or outcomes.min() == outcomes.max():
                # Shrink a small arm's rate toward the overall rate (10 pseudo-rows).
                models[arm] = (outcomes.sum() + 10 * prior) / (len(rows) + 10)
                continue
            model = _lightgbm.classifier(
                random_state=self.random_state + 100 + seed, n_jobs=self.n_jobs, **self._lightgbm()
            )
            models[arm] = _lightgbm.fit(model, X.iloc[rows], outcomes)
        return models

    def _predict_one(self, models, X, rows, arms):
        out = np.empty(len(rows))
        for arm in np.unique(arms):
            pick = arms == arm
            model = models[arm]
            out[pick] = model if np.isscalar(model) else model.predict(X.values[rows[pick]])
        return out

    def _explained_parts(self, models, X, rows, arms):
        # An arm fitted as a plain rate has no features to credit: it contributes nothing.
        parts = []
        for arm in np.unique(arms):
            pick = np.flatnonzero(arms == arm)
            if not np.isscalar(models[arm]):
                rows_of_arm = take(X, rows[pick])
                if isinstance(rows_of_arm, Encoded):
                    rows_of_arm = rows_of_arm.values
                parts.append((models[arm], rows_of_arm, pick, 1.0))
        return parts

    def _explained_columns(self, columns) -> list[str]:
        return list(columns)
