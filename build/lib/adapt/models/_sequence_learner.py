"""Sequence learner: one model of progression that reads the ordered history."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from adapt.catalogue import load_catalogue
from adapt.features import ordered_columns
from adapt.models import _lightgbm
from adapt.models._arms import pair_columns, with_arm
from adapt.models._base import MultiTreatmentLearner
from adapt.models._encoded import Encoded

REPEATS_LAST = "__repeats_last__"
SAME_FAMILY_AS_LAST = "__same_family_as_last__"
SAME_FAMILY_AS_SECOND = "__same_family_as_second__"
DONE_BEFORE = "__done_before__"
# The ordered history brings categorical columns with many levels (the last interventions,
# their family pairs); LightGBM overfits such columns unless their splits are regularised.
# Measured (20k persons, 2 bags): without these settings next-step regret closure fell below
# the S-learner's on order_effects (0.808 vs 0.834); with them it rose above it (0.861).
CATEGORICAL_REGULARISATION = {
    "cat_smooth": 50,
    "cat_l2": 10,
    "min_data_per_group": 200,
    "max_cat_threshold": 16,
}


class SequenceLearner(MultiTreatmentLearner):
    """Progression of each candidate next intervention given the ordered history.

    Like the S-learner it pools every intervention in one LightGBM model, but it reads the
    history in order (``decision_points(..., history="ordered")``: the last interventions one
    by one, their families as a pair, step changes, time, episodes and hours on the current
    step) and pairs each candidate with what came just before it: whether it repeats the last
    intervention, shares the family of the last or the one before, and how often it was done
    before. With the candidate and the last two families as columns, a tree learns that one
    order works and the reverse does not.
    """

    history: ClassVar[str] = "ordered"
    nuisance_models = ()

    def fit(self, X: pd.DataFrame, treatment, y, groups=None, engine=None):
        missing = [c for c in ["previous_intervention", *ordered_columns()] if c not in X]
        if isinstance(X, pd.DataFrame) and missing:
            raise ValueError(
                "the sequence learner reads the ordered history; build X with "
                f"decision_points(..., history='ordered') (X lacks {missing})"
            )
        catalogue = self.catalogue or load_catalogue()
        self.family_of_ = {c: i.family for c, i in catalogue.interventions.items()}
        return super().fit(X, treatment, y, groups, engine)

    def _fit_one(self, X, t, y, available, groups, seed):
        model = _lightgbm.classifier(
            random_state=self.random_state + 100 + seed,
            n_jobs=self.n_jobs,
            **self._lightgbm(),
            **CATEGORICAL_REGULARISATION,
        )
        return _lightgbm.fit(model, self._pairs(X, t), y)

    def _predict_one(self, model, X, rows, arms):
        if isinstance(X, Encoded):
            return model.predict(self._encoded_pairs(X.take(rows), arms))
        return model.predict(self._pairs(X.iloc[rows], arms))

    def _encoded_input(self, E, rows, arms):
        return self._encoded_pairs(E.take(rows), arms)

    def _predict_encoded(self, model, pairs):
        return model.predict(pairs)

    def _explained_parts(self, model, X, rows, arms):
        pairs = (
            self._encoded_pairs(X.take(rows), arms)
            if isinstance(X, Encoded)
            else self._pairs(X.iloc[rows], arms)
        )
        return [(model, pairs, np.arange(len(rows)), 1.0)]

    def _explained_columns(self, columns) -> list[str]:
        return [
            *pair_columns(columns),
            REPEATS_LAST,
            SAME_FAMILY_AS_LAST,
            SAME_FAMILY_AS_SECOND,
            DONE_BEFORE,
        ]

    def _pairs(self, X: pd.DataFrame, arms: np.ndarray) -> pd.DataFrame:
        """Rows paired with candidate interventions, and the candidate's place in the order."""
        arms = np.asarray(arms)
        candidate = np.asarray(self.interventions_, dtype=object)[arms]
        family = np.array([self.family_of_[c] for c in candidate], dtype=object)

        def same(column, values):
            return (X[column].astype(str).to_numpy(dtype=object) == values).astype(float)

        counts = X[[f"n_{c}" for c in self.interventions_]].to_numpy()
        return with_arm(X, arms, self.interventions_).assign(
            **{
                REPEATS_LAST: same("previous_intervention", candidate),
                SAME_FAMILY_AS_LAST: same("family_1", family),
                SAME_FAMILY_AS_SECOND: same("family_2", family),
                DONE_BEFORE: counts[np.arange(len(arms)), arms],
            }
        )

    def _encoded_pairs(self, X: Encoded, arms: np.ndarray) -> np.ndarray:
        """`_pairs` as a float matrix: the same columns, compared by category code."""
        arms = np.asarray(arms)
        family = [self.family_of_[c] for c in self.interventions_]

        def same(column, values):
            code = pd.Index(self.categories_[column]).get_indexer(values)[arms]
            return (X.column(column) == code).astype(float)

        counts = np.column_stack([X.column(f"n_{c}") for c in self.interventions_])
        return np.column_stack(
            [
                with_arm(X, arms, self.interventions_),
                same("previous_intervention", self.interventions_),
                same("family_1", family),
                same("family_2", family),
                counts[np.arange(len(arms)), arms],
            ]
        )
