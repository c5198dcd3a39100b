"""Sequence learner: one model of progression that reads the ordered history."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from adapt.catalogue import load_catalogue
from adapt.features import ordered_columns
from adapt.models import _lightgbm
from adapt.models._arms import with_arm
from adapt.models._base import MultiTreatmentLearner

AFTER_LAST = "__after_last__"
AFTER_LAST_TWO = "__after_last_two__"
REPEATS_LAST = "__repeats_last__"
DONE_BEFORE = "__done_before__"


class SequenceLearner(MultiTreatmentLearner):
    """Progression of each candidate next intervention given the ordered history.

    Like the S-learner it pools every intervention in one LightGBM model, but it reads the
    history in order (``decision_points(..., history="ordered")``: the last interventions one
    by one, their families as a pair, step changes, time, episodes and hours on the current
    step) and pairs each candidate with what came just before it: the transition from the last
    intervention to the candidate, from the last two families to the candidate's family,
    whether it repeats the last one and how often it was done before. A tree can then learn
    that one order works and the reverse does not with a single split.
    """

    history: ClassVar[str] = "ordered"
    nuisance_models = ()

    def fit(self, X: pd.DataFrame, treatment, y, groups=None):
        missing = [c for c in ["previous_intervention", *ordered_columns()] if c not in X]
        if isinstance(X, pd.DataFrame) and missing:
            raise ValueError(
                "the sequence learner reads the ordered history; build X with "
                f"decision_points(..., history='ordered') (X lacks {missing})"
            )
        catalogue = self.catalogue or load_catalogue()
        self.family_of_ = {c: i.family for c, i in catalogue.interventions.items()}
        return super().fit(X, treatment, y, groups)

    def _fit_one(self, X, t, y, available, groups, seed):
        model = _lightgbm.classifier(
            random_state=self.random_state + 100 + seed, n_jobs=self.n_jobs, **self._lightgbm()
        )
        return model.fit(self._pairs(X, t), y)

    def _predict_one(self, model, X, rows, arms):
        return model.predict_proba(self._pairs(X.iloc[rows], arms))[:, 1]

    def _pairs(self, X: pd.DataFrame, arms: np.ndarray) -> pd.DataFrame:
        """Rows paired with candidate interventions, and the candidate's place in the order."""
        arms = np.asarray(arms)
        codes = np.asarray(self.interventions_, dtype=object)
        candidate = codes[arms]
        families = list(dict.fromkeys(self.family_of_.values()))
        family = np.array([self.family_of_[c] for c in candidate], dtype=object)
        last = X["previous_intervention"].astype(str).to_numpy(dtype=object)
        last_two = X["families_last_two"].astype(str).to_numpy(dtype=object)
        counts = X[[f"n_{c}" for c in self.interventions_]].to_numpy()
        return with_arm(X, arms, self.interventions_).assign(
            **{
                AFTER_LAST: pd.Categorical(
                    last + ">" + candidate,
                    categories=[f"{a}>{b}" for a in ["none", *codes] for b in codes],
                ),
                AFTER_LAST_TWO: pd.Categorical(
                    last_two + ">" + family,
                    categories=sorted(
                        {
                            f"{a}>{b}>{c}"
                            for a in ["none", *families]
                            for b in ["none", *families]
                            for c in families
                        }
                    ),
                ),
                REPEATS_LAST: (last == candidate).astype(float),
                DONE_BEFORE: counts[np.arange(len(arms)), arms],
            }
        )
